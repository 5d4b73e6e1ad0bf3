// Test helper: the real `tabmesh-node` CLI as a child process with --json, its log lines read
// back as events and folded into the state a test asks about (links, members, memory). Waits
// are on conditions over that state, with deadlines; failures show the log's tail.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { createTabmeshServer, type TabmeshServer } from '../../signaling/server.ts';

export const cliPath = fileURLToPath(new URL('../../bin/tabmesh-node.js', import.meta.url));
/** Log lines kept per process (the oldest go first); enough for any test's story. */
const maxLinesKept = 5_000;

export type NodeEvent = { time: string; event: string } & Record<string, unknown>;

export interface NodeState {
  id: string | null;
  signaling: string;
  links: Set<string>;
  members: Map<string, string>;
  memory: Map<string, { value: unknown; origin: string }>;
}

export class NodePeerProcess {
  readonly child: ChildProcess;
  readonly events: NodeEvent[] = [];
  readonly stderr: string[] = [];
  readonly state: NodeState = { id: null, signaling: '', links: new Set(), members: new Map(), memory: new Map() };
  /** Lines on stdout that were not JSON (there should be none). */
  readonly badLines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters = new Set<() => void>();
  private buffered = '';

  constructor(
    args: string[],
    readonly dataDir: string,
  ) {
    this.child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.onStdout(chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr.push(chunk);
      this.wake();
    });
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        resolve({ code, signal });
        this.wake();
      }),
    );
  }

  /** Starts `tabmesh-node --room room --signal url --data <dir> --json`; dir defaults to a fresh temp dir. */
  static start(room: string, signal: string, options: { dataDir?: string; extra?: string[] } = {}): NodePeerProcess {
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tabmesh-node-test-'));
    return new NodePeerProcess(['--room', room, '--signal', signal, '--data', dataDir, '--json', ...(options.extra ?? [])], dataDir);
  }

  get id(): string {
    if (!this.state.id) throw new Error('the node has not said its id yet');
    return this.state.id;
  }

  /** Waits until `predicate` holds over this node's state or events. */
  async waitFor(predicate: (state: NodeState, events: NodeEvent[]) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.state, this.events)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 250));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  /** The last log lines and stderr, for failure messages. */
  tail(lines = 30): string {
    const last = this.events.slice(-lines).map((e) => JSON.stringify(e));
    return `--- last ${last.length} log lines of ${this.state.id ?? 'a node'} ---\n${last.join('\n')}${this.stderr.length ? `\n--- stderr ---\n${this.stderr.join('')}` : ''}`;
  }

  signal(name: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(name);
  }

  /** Kills the process if it is still running and removes its data dir (unless `keepData`). */
  async dispose(keepData = false): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
    if (!keepData) rmSync(this.dataDir, { recursive: true, force: true });
  }

  private onStdout(chunk: string): void {
    this.buffered += chunk;
    let newline: number;
    while ((newline = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      if (line.trim() === '') continue;
      let event: NodeEvent;
      try {
        event = JSON.parse(line) as NodeEvent;
      } catch {
        this.badLines.push(line);
        continue;
      }
      this.events.push(event);
      if (this.events.length > maxLinesKept) this.events.shift();
      this.apply(event);
    }
    this.wake();
  }

  private apply(e: NodeEvent): void {
    const s = this.state;
    switch (e.event) {
      case 'ready':
        s.id = e['id'] as string;
        return;
      case 'signaling':
        s.signaling = e['status'] as string;
        return;
      case 'link-up':
        s.links.add(e['peer'] as string);
        return;
      case 'link-down':
        s.links.delete(e['peer'] as string);
        return;
      case 'member':
        s.members.set(e['peer'] as string, e['status'] as string);
        return;
      case 'member-forgotten':
        s.members.delete(e['peer'] as string);
        return;
      case 'memory-set':
        s.memory.set(e['key'] as string, { value: e['value'], origin: e['origin'] as string });
        return;
      case 'memory-deleted':
        s.memory.delete(e['key'] as string);
        return;
    }
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }
}

/**
 * For a describe whose tests run Node peers against one signaling server (on loopback, serving
 * an empty directory): the server starts before the tests; after them every peer pushed to
 * `peers` is disposed, the server closed and the directory removed. `url()`: the server's.
 */
export function signalingForPeers(): { readonly peers: NodePeerProcess[]; url(): string } {
  let server: TabmeshServer | undefined;
  let url = '';
  const peers: NodePeerProcess[] = [];
  const staticDir = mkdtempSync(join(tmpdir(), 'tabmesh-static-'));
  beforeAll(async () => {
    server = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir });
    url = (await server.listen()).url;
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.dispose()));
    await server?.close();
    rmSync(staticDir, { recursive: true, force: true });
  });
  return { peers, url: () => url };
}
