// A network namespace of the test's own, with nothing in it but a loopback interface: the
// Tabmesh server runs in it (loopback-netns-server.ts), and so do the browsers, launched through
// wrapper scripts that `nsenter` it. WebRTC in there can only gather and pair 127.0.0.1, so ICE
// stays on loopback whatever addresses the host has (its eth0 is not a target).
//
// The namespace is made by `unshare -n` for the server process and lives as long as a process is
// in it: when the server and the browsers are gone, so is the namespace — nothing to clean up,
// even after a crash. The test process itself stays in the host's namespace; it reaches the
// browsers' remote-debugging ports on the namespace's loopback through a bridge over a unix
// socket (Chromium needs none: Playwright drives it over a pipe).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How long the server in the namespace may take to listen. */
const serverStartDeadlineMs = 20_000;
/** How long the server may take to go after SIGTERM before it is killed. */
const serverStopDeadlineMs = 5_000;
/** How much of the server's error output a start-up failure shows. */
const serverOutputKeptChars = 4_000;

const serverScript = fileURLToPath(new URL('./loopback-netns-server.ts', import.meta.url));
const repoDir = fileURLToPath(new URL('../../', import.meta.url));

export interface LoopbackNamespace {
  /** The Tabmesh server's URL, valid inside the namespace (so for the browsers). */
  url: string;
  /** The namespace, as a path nsenter takes (/proc/<server pid>/ns/net). */
  netnsPath: string;
  /**
   * Writes a shell script that runs `executable` with its arguments inside the namespace, for a
   * launcher's executablePath. nsenter execs without forking, so the launcher's pid is the browser's.
   */
  wrap(executable: string, name: string): string;
  /**
   * Listens on a free port of the host's loopback and forwards every connection to the same port
   * number on the namespace's loopback (free there: only our browsers listen in it). Returns it.
   */
  forwardPort(): Promise<number>;
  /** Stops the server (the browsers must be closed first) and removes the wrapper scripts. */
  close(): Promise<void>;
}

/** A word for sh, whatever it holds (a browser path with spaces, say). */
const shellQuoted = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

function namespaceError(detail: string): Error {
  return new Error(
    `This test runs its server and browsers in a network namespace of their own ` +
      `(unshare -n, only loopback inside), so that WebRTC stays on 127.0.0.1, and it could not make one: ${detail}. ` +
      'Run the tests as root (CI does) on Linux with unshare and nsenter (Debian: `apt-get install util-linux`) and iproute2 (`apt-get install iproute2`).',
  );
}

export async function startLoopbackNamespace(staticDir: string): Promise<LoopbackNamespace> {
  const dir = mkdtempSync(join(tmpdir(), 'tabmesh-netns-'));
  const bridgePath = join(dir, 'bridge.sock');
  let child: ChildProcess;
  try {
    child = spawn(
      'unshare',
      ['--net', '--', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, '--import', 'tsx', serverScript, staticDir, bridgePath],
      { cwd: repoDir, stdio: ['pipe', 'pipe', 'pipe'] },
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw namespaceError((error as Error).message);
  }
  // The server's error output, kept (its tail) for the message if it fails to start.
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-serverOutputKeptChars)));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(
      () => reject(namespaceError(`the server did not start within ${serverStartDeadlineMs} ms: ${output.trim()}`)),
      serverStartDeadlineMs,
    );
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(namespaceError(error.message));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(namespaceError(`the server in it exited with code ${code}: ${output.trim()}`));
    });
    const onStdout = (chunk: Buffer) => {
      stdout += chunk.toString();
      const end = stdout.indexOf('\n');
      if (end === -1) return;
      clearTimeout(timer);
      // Its first line says where it listens; later output is of no interest (drained unread).
      child.stdout?.off('data', onStdout);
      child.stdout?.resume();
      try {
        resolve((JSON.parse(stdout.slice(0, end)) as { url: string }).url);
      } catch {
        reject(namespaceError(`the server's first line is not its address: ${stdout.slice(0, end)}`));
      }
    };
    child.stdout?.on('data', onStdout);
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  child.removeAllListeners('exit');
  const netnsPath = `/proc/${child.pid}/ns/net`;
  // unshare execs sh, which execs node: the server's pid is the one we spawned, in the new namespace.
  if (readlinkSync(netnsPath) === readlinkSync('/proc/self/ns/net')) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw namespaceError('the server runs in the host namespace after all');
  }

  const forwarders: Server[] = [];
  return {
    url,
    netnsPath,
    wrap(executable, name) {
      const path = join(dir, name);
      writeFileSync(path, `#!/bin/sh\nexec nsenter --net=${netnsPath} -- ${shellQuoted(executable)} "$@"\n`);
      chmodSync(path, 0o755);
      return path;
    },
    async forwardPort() {
      let port = 0;
      const forwarder = createServer((client) => {
        const target = connect(bridgePath);
        // Queued before anything piped, so the header goes first.
        target.write(`${port}\n`);
        client.pipe(target).pipe(client);
        target.on('error', () => client.destroy());
        client.on('error', () => target.destroy());
      });
      await new Promise<void>((resolve, reject) => {
        forwarder.once('error', reject);
        forwarder.listen(0, '127.0.0.1', resolve);
      });
      forwarders.push(forwarder);
      port = (forwarder.address() as { port: number }).port;
      return port;
    },
    async close() {
      for (const server of forwarders) server.close();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, serverStopDeadlineMs))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
