// The NAT lab's processes: the Tabmesh server in the public namespace and Node peers in the
// homes, each a child process started with `ip netns exec` (which execs in place, so the child's
// pid is the program's own and it is stopped by that pid). Node peers answer commands on stdin
// (node-peer-main.ts); waits poll their snapshot with a deadline, never sleep blindly.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IceServerConfig } from '../../signaling/ice-config.ts';
import type { TurnRestConfig } from '../../signaling/turn-credentials.ts';
import type { NodeSnapshot } from '../../src/worker/snapshot.ts';

const serverMain = fileURLToPath(new URL('./server-main.ts', import.meta.url));
const nodePeerMain = fileURLToPath(new URL('./node-peer-main.ts', import.meta.url));
/** Log lines kept per process, for failure messages. */
const maxLinesKept = 2_000;
/** How long a process gets to stop on SIGTERM before SIGKILL. */
const stopGraceMs = 3_000;
/** How long a command on stdin may take to be answered. */
const replyDeadlineMs = 10_000;
/** How long the server may take to listen. */
const serverStartDeadlineMs = 20_000;

export interface SelectedPair {
  local: string;
  remote: string;
  localAddress: string;
  remoteAddress: string;
}

/** `node --import tsx script arg` inside `netns`. */
function spawnInNamespace(netns: string, script: string, arg: unknown): ChildProcess {
  return spawn('ip', ['netns', 'exec', netns, process.execPath, '--import', 'tsx', script, JSON.stringify(arg)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
  });
}

/** A child process that prints JSON lines. */
class JsonLineProcess {
  readonly lines: Array<Record<string, unknown>> = [];
  /** When each line arrived (performance.now() of this process), for benchmarks. */
  readonly receivedAt = new WeakMap<object, number>();
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private buffered = '';
  private readonly listeners = new Set<(line: Record<string, unknown>) => void>();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.onStdout(chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr.push(chunk);
      if (this.stderr.length > 200) this.stderr.shift();
    });
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  onLine(listener: (line: Record<string, unknown>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  tail(count = 25): string {
    return `--- last lines of ${this.name} ---\n${this.lines
      .slice(-count)
      .map((l) => JSON.stringify(l).slice(0, 400))
      .join('\n')}${this.stderr.length ? `\n--- stderr ---\n${this.stderr.join('').slice(-3000)}` : ''}`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), stopGraceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private onStdout(chunk: string): void {
    this.buffered += chunk;
    let newline: number;
    while ((newline = this.buffered.indexOf('\n')) >= 0) {
      const text = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      if (text.trim() === '') continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { unparsed: text };
      }
      this.lines.push(line);
      this.receivedAt.set(line, performance.now());
      if (this.lines.length > maxLinesKept) this.lines.shift();
      for (const listener of this.listeners) listener(line);
    }
  }
}

export interface LabServer {
  url: string;
  process: JsonLineProcess;
  stop(): Promise<void>;
}

/** The real Tabmesh server (createTabmeshServer) inside `netns`, handing pages `iceServers`. */
export async function startLabServer(
  netns: string,
  options: { host: string; port: number; staticDir: string; iceServers: IceServerConfig; turnRest?: TurnRestConfig },
): Promise<LabServer> {
  const proc = new JsonLineProcess('server', spawnInNamespace(netns, serverMain, options));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the lab server did not listen within ${serverStartDeadlineMs} ms\n${proc.tail()}`)),
      serverStartDeadlineMs,
    );
    const off = proc.onLine((line) => {
      if (typeof line['url'] !== 'string') return;
      clearTimeout(timer);
      off();
      resolve(line['url']);
    });
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the lab server exited with code ${code}\n${proc.tail()}`));
    });
  });
  return { url, process: proc, stop: () => proc.stop() };
}

export class LabNodePeer {
  readonly process: JsonLineProcess;
  readonly dataDir: string;
  private n = 0;
  id = '';

  private constructor(
    readonly label: string,
    readonly netns: string,
    options: { room: string; signal: string; iceServers: IceServerConfig | null },
  ) {
    this.dataDir = mkdtempSync(join(tmpdir(), 'tabmesh-natlab-'));
    this.process = new JsonLineProcess(label, spawnInNamespace(netns, nodePeerMain, { ...options, dataDir: this.dataDir }));
  }

  /** Starts a Node peer in `netns` and waits for its id. `iceServers` null: from the server. */
  static async start(label: string, netns: string, options: { room: string; signal: string; iceServers: IceServerConfig | null }): Promise<LabNodePeer> {
    const peer = new LabNodePeer(label, netns, options);
    await peer.waitForLine((l) => l['event'] === 'ready', 'the Node peer is ready', 30_000);
    peer.id = String(peer.process.lines.find((l) => l['event'] === 'ready')?.['id']);
    return peer;
  }

  async waitForLine(predicate: (line: Record<string, unknown>) => boolean, what: string, timeoutMs: number): Promise<Record<string, unknown>> {
    const found = this.process.lines.find(predicate);
    if (found) return found;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => (off(), reject(new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for: ${what}\n${this.process.tail()}`))),
        timeoutMs,
      );
      const off = this.process.onLine((line) => {
        if (!predicate(line)) return;
        clearTimeout(timer);
        off();
        resolve(line);
      });
      void this.process.exited.then(
        (code) => (clearTimeout(timer), off(), reject(new Error(`${this.label} exited with code ${code} while waiting for: ${what}\n${this.process.tail()}`))),
      );
    });
  }

  async request<T>(cmd: 'snapshot' | 'pairs' | 'run', extra: { name?: string; args?: unknown[] } = {}): Promise<T> {
    const n = ++this.n;
    const reply = this.waitForLine((l) => l['reply'] === n, `the answer to ${cmd} ${extra.name ?? ''}`, replyDeadlineMs);
    this.process.child.stdin!.write(`${JSON.stringify({ n, cmd, ...extra })}\n`);
    const line = await reply;
    if (line['ok'] !== true) throw new Error(`${this.label}: ${cmd} ${extra.name ?? ''} failed: ${String(line['error'])}`);
    return line['value'] as T;
  }

  snapshot(): Promise<NodeSnapshot> {
    return this.request<NodeSnapshot>('snapshot');
  }

  /** node-datachannel's selected candidate pair of every connected link (getSelectedCandidatePair). */
  pairs(): Promise<SelectedPair[]> {
    return this.request<SelectedPair[]>('pairs');
  }

  run<T>(name: string, ...args: unknown[]): Promise<T> {
    return this.request<T>('run', { name, args });
  }

  /** Polls the snapshot until `predicate` holds; on timeout the error shows the last snapshot and log. */
  async waitFor(predicate: (s: NodeSnapshot) => boolean, what: string, timeoutMs = 30_000): Promise<NodeSnapshot> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = await this.snapshot();
      if (last && predicate(last)) return last;
      if (Date.now() > deadline) {
        const brief = last
          ? { links: last.links, connecting: last.connecting, linkFailures: (last as { linkFailures?: unknown }).linkFailures, signaling: last.signaling }
          : null;
        throw new Error(
          `${this.label}: timed out after ${timeoutMs} ms waiting for: ${what}\nlast snapshot (part): ${JSON.stringify(brief)}\n${this.process.tail()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async dispose(): Promise<void> {
    await this.process.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
