// `npm start`: the built poll (dist/) and signaling in one process, with tabmesh/server.
// Usage: node server.mjs [dir] — PORT (default 8080) and HOST (default 127.0.0.1) from the
// environment; PORT=0 picks a free port. Prints {"url": …} once listening.
import { createSignalingServer } from 'tabmesh/server';

const server = createSignalingServer({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '127.0.0.1', staticDir: process.argv[2] ?? 'dist' });
const { url } = await server.listen();
console.log(JSON.stringify({ url }));
process.on('SIGINT', () => void server.close().then(() => process.exit(0)));
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
