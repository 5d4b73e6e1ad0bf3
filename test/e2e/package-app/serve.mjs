// Serves a built folder of this app with `tabmesh/server` (from the installed tarball) on a free
// loopback port; prints `{"url": …}` once listening, closes on SIGTERM.
import { createSignalingServer } from 'tabmesh/server';

const server = createSignalingServer({ port: 0, host: '127.0.0.1', staticDir: process.argv[2] });
const { url } = await server.listen();
console.log(JSON.stringify({ url }));
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
