// `npm start` (after the build, compiled to lib/server-cli.js) and `npm run serve`: one process
// serving the app, signaling and /healthz, over HTTP and HTTPS on one port, built on the
// library entry `tabmesh/server` (index.ts). Exit codes: 0 after a clean shutdown, 1 when
// the port cannot be opened, 2 for bad usage or a certificate/key/data directory that will not do.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hostname, networkInterfaces } from 'node:os';
import { openUrls, parseCliArgs, usage } from './cli.ts';
import { createSignalingServer } from './index.ts';
import { defaultStaticDir } from './server.ts';
import { certificateNames, prepareTls, type PreparedTls } from './tls-setup.ts';
import { TlsFileError } from './tls-files.ts';
import { certificateLines, iceLines, urlLines } from './startup-lines.ts';

const command = parseCliArgs(process.argv.slice(2), process.env);
if (command.kind === 'help') {
  process.stdout.write(usage);
  process.exit(0);
}
if (command.kind === 'error') {
  process.stderr.write(`error: ${command.message}\n\n${usage}`);
  process.exit(2);
}

const staticDir = command.staticDir !== undefined ? resolve(command.staticDir) : defaultStaticDir;
const interfaces = networkInterfaces();
let tls: PreparedTls | null;
try {
  tls = await prepareTls(command.tls, resolve(command.dataDir), certificateNames(command.host, interfaces, hostname()), Date.now());
} catch (err) {
  if (!(err instanceof TlsFileError)) throw err;
  process.stderr.write(`error: ${err.message}\n`);
  process.exit(2);
}
// The port is known once listening (--port 0); the LAN URLs for /config.json are filled in then.
const lanUrls: string[] = [];
const server = createSignalingServer({
  port: command.port,
  host: command.host,
  staticDir,
  iceServers: command.iceServers,
  iceTransportPolicy: command.iceTransportPolicy,
  ...(command.allowedOrigins ? { allowedOrigins: command.allowedOrigins } : {}),
  ...(command.turnRest ? { turnRest: command.turnRest } : {}),
  ...(command.allowedHostNames ? { allowedHostNames: command.allowedHostNames } : {}),
  ...(command.trustedProxies ? { trustedProxies: command.trustedProxies } : {}),
  ...(command.redisUrl ? { redisUrl: command.redisUrl } : {}),
  ...(tls ? { tls: { cert: tls.material.cert, key: tls.material.key } } : {}),
  lanUrls,
  ...(tls?.generated ? { certFingerprint: tls.material.fingerprint256 } : {}),
  log: (line) => console.error(line),
});

try {
  const address = await server.listen();
  if (!existsSync(join(staticDir, 'index.html'))) {
    console.error(`warning: ${staticDir} has no index.html — run \`npm run build\` first; until then pages show how.`);
  }
  const urls = openUrls(command.host, address.port, interfaces, tls !== null);
  lanUrls.push(...urls.lan);
  for (const line of [...urlLines(urls, tls), ...certificateLines(tls), ...iceLines(command.iceServers, command.iceTransportPolicy, command.turnRest)])
    console.log(line);
  console.log('Press Ctrl+C to stop.');
} catch (err) {
  const code = (err as { code?: string }).code;
  const why =
    code === 'EADDRINUSE'
      ? `port ${command.port} is already in use; stop the other server or pick another with --port`
      : code === 'EACCES'
        ? `not allowed to listen on port ${command.port}; pick a port above 1023 with --port`
        : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND'
          ? `this machine has no address ${command.host}; use --host 0.0.0.0 or one of its own addresses`
          : err instanceof Error
            ? err.message
            : String(err);
  console.error(`error: cannot start: ${why}`);
  process.exit(1);
}

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) {
    console.error(`${signal} again: exiting without waiting.`);
    process.exit(1);
  }
  stopping = true;
  console.log(`${signal}: closing connections…`);
  server.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`error while closing: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
