// Runs inside the test's own network namespace (started by loopback-netns.ts under `unshare -n`,
// with only `lo` up): the Tabmesh server on 127.0.0.1 of that namespace, and a bridge that lets
// the test process, which stays in the host's namespace, reach TCP ports on this namespace's
// loopback (a browser's remote-debugging port) through a unix socket — unix sockets live in
// the file system, which both namespaces share.
//
// Usage: node --import tsx loopback-netns-server.ts <staticDir> <bridgeSocketPath>
// Prints one JSON line {"url": …} once both listen; exits when its stdin closes (the test went).
import { createServer, connect, type Socket } from 'node:net';
import { createTabmeshServer } from '../../signaling/server.ts';

/** A bridge header is the target port and a newline; anything longer is not one of ours. */
const maxHeaderBytes = 8;

const [staticDir, bridgePath] = process.argv.slice(2);
if (!staticDir || !bridgePath) {
  console.error('usage: loopback-netns-server.ts <staticDir> <bridgeSocketPath>');
  process.exit(2);
}

/** Reads "PORT\n", then joins the client to 127.0.0.1:PORT of this namespace, both ways. */
function bridge(client: Socket): void {
  let header = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    header = Buffer.concat([header, chunk]);
    const end = header.indexOf(0x0a);
    if (end === -1) {
      if (header.length > maxHeaderBytes) client.destroy();
      return;
    }
    client.off('data', onData);
    const port = Number(header.subarray(0, end).toString('ascii'));
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      client.destroy();
      return;
    }
    const target = connect(port, '127.0.0.1');
    const rest = header.subarray(end + 1);
    if (rest.length > 0) target.write(rest);
    client.pipe(target).pipe(client);
    target.on('error', () => client.destroy());
    client.on('error', () => target.destroy());
  };
  client.on('data', onData);
}

const server = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir });
const { url } = await server.listen();
const bridgeServer = createServer(bridge);
await new Promise<void>((resolve, reject) => {
  bridgeServer.once('error', reject);
  bridgeServer.listen(bridgePath, resolve);
});
process.stdout.write(`${JSON.stringify({ url })}\n`);

const stop = () => {
  bridgeServer.close();
  void server.close().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
