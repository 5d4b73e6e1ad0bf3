// A node starts its slow parts side by side (mesh formation time): the page starts the worker's
// script before its slot and ICE config are known (src/early-worker.ts), and the runtime opens
// the signaling socket while its identity and stored state load (src/worker/early-socket.ts).
// What either says before anyone listens must be held and handed on in order — a welcome, a
// close, a script that throws as it loads — and the join must still wait for a ready node.
import { afterEach, describe, expect, it } from 'vitest';
import { EarlyWorker, heldWorkerEventsLimit } from '../../src/early-worker.ts';
import { EarlySocket, heldSocketEventsLimit } from '../../src/worker/early-socket.ts';
import { createIdentity } from '../../src/crypto/ed25519.ts';
import { FakeSocket, FakeWorker } from './page-fakes.ts';
import { MemoryStorage } from '../../src/store/memory.ts';
import { NodeRuntime } from '../../src/worker/runtime.ts';
import type { LoadedIdentity } from '../../src/worker/identity-store.ts';
import { realClock, realTimers } from '../../src/worker/real-clock.ts';

/** Deadline for the runtime's asynchronous work (crypto promises, microtasks), not a sleep. */
const deadlineMs = 10_000;

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A client the way SignalingClient attaches: handlers set right after the socket is handed over. */
function attachRecorder(early: EarlySocket): string[] {
  const seen: string[] = [];
  early.attach();
  early.onopen = () => seen.push('open');
  early.onmessage = (ev) => seen.push(`message ${String(ev.data)}`);
  early.onclose = (ev) => seen.push(`close ${ev.code}`);
  early.onerror = () => seen.push('error');
  return seen;
}

/** A node with no services whose signaling sockets (fakes) are collected in `sockets`. */
function startEarly(sockets: FakeSocket[], loadIdentity: () => Promise<LoadedIdentity>) {
  return NodeRuntime.start({
    room: 'early',
    slot: 0,
    signalingUrl: 'ws://test/signal',
    storage: new MemoryStorage(),
    createSocket: () => {
      const socket = new FakeSocket();
      sockets.push(socket);
      return socket;
    },
    linkHost: { open: () => {}, signal: () => {}, send: () => {}, close: () => {} },
    iceServers: [],
    clock: realClock,
    timers: realTimers,
    services: [],
    loadIdentity,
    publishSnapshot: () => {},
  });
}

describe('EarlySocket', () => {
  it('holds what comes before the client attaches and hands it on in order, then the live events', async () => {
    const inner = new FakeSocket();
    const early = new EarlySocket(inner);
    inner.open();
    inner.deliver('welcome');
    expect(early.readyState).toBe(1);
    const seen = attachRecorder(early);
    // Not before the client has set every handler (the next microtask).
    expect(seen).toEqual([]);
    inner.deliver('live, before the replay');
    await Promise.resolve();
    inner.deliver('live');
    early.send('{"type":"join"}');
    expect(seen).toEqual(['open', 'message "welcome"', 'message "live, before the replay"', 'message "live"']);
    expect(inner.sent).toEqual([{ type: 'join' }]);
  });

  it('a socket that closed before the client attached is reported closed, so the client retries', async () => {
    const inner = new FakeSocket();
    const early = new EarlySocket(inner);
    inner.drop(1006, '');
    const seen = attachRecorder(early);
    await until(() => seen.length > 0, 'the close handed on');
    expect(seen).toEqual(['close 1006']);
    expect(early.readyState).toBe(3);
  });

  it('keeps at most its limit from a server that talks too much before the join, and still reports the close', async () => {
    const inner = new FakeSocket();
    const early = new EarlySocket(inner);
    inner.open();
    for (let i = 0; i < heldSocketEventsLimit * 3; i++) inner.deliver(i);
    inner.drop(1000, 'bye');
    const seen = attachRecorder(early);
    await until(() => seen.includes('close 1000'), 'the close handed on');
    expect(seen.length).toBe(heldSocketEventsLimit + 1);
    expect(seen[0]).toBe('open');
    expect(seen.at(-1)).toBe('close 1000');
  });
});

describe('EarlyWorker', () => {
  it('a script that fails as it loads, before anyone listens, is still seen as a crash (and not reported as uncaught)', async () => {
    const raw = new FakeWorker();
    const worker = new EarlyWorker(raw);
    const event = raw.fire('error', { message: 'broken build' });
    expect(event.defaultPrevented).toBe(true);
    const errors: string[] = [];
    worker.addEventListener('error', (e) => errors.push(e.message ?? ''));
    // Not while the supervisor is still attaching its listeners (the page is half built then).
    expect(errors).toEqual([]);
    await Promise.resolve();
    expect(errors).toEqual(['broken build']);
    // Handed on once, then live.
    worker.addEventListener('error', (e) => errors.push(`second ${e.message ?? ''}`));
    raw.fire('error', { message: 'again' });
    expect(errors).toEqual(['broken build', 'again', 'second again']);
  });

  it('passes messages both ways once listened to, holds at most its limit before, and terminates the worker', async () => {
    const raw = new FakeWorker();
    const worker = new EarlyWorker(raw);
    for (let i = 0; i < heldWorkerEventsLimit + 5; i++) raw.fire('message', { data: i });
    const data: unknown[] = [];
    worker.addEventListener('message', (e) => data.push(e.data));
    await Promise.resolve();
    expect(data).toEqual(Array.from({ length: heldWorkerEventsLimit }, (_, i) => i));
    expect(worker.dropped).toBe(5);
    raw.fire('message', { data: 'live' });
    expect(data.at(-1)).toBe('live');
    worker.postMessage({ type: 'init' });
    expect(raw.posted).toEqual([{ type: 'init' }]);
    worker.terminate();
    expect(raw.terminated).toBe(true);
  });
});

describe('a starting node', () => {
  let runtime: NodeRuntime | null = null;
  afterEach(async () => {
    await runtime?.shutdown('test over');
    runtime = null;
  });

  it('opens the signaling socket while its identity loads, and joins only once it has started', async () => {
    const self = await createIdentity();
    const sockets: FakeSocket[] = [];
    let releaseIdentity: (loaded: LoadedIdentity) => void = () => {};
    const identityLoaded = new Promise<LoadedIdentity>((resolve) => (releaseIdentity = resolve));
    const starting = startEarly(sockets, () => identityLoaded);
    // The handshake runs before the identity is there: the server's welcome arrives meanwhile.
    expect(sockets).toHaveLength(1);
    const socket = sockets[0] as FakeSocket;
    socket.open();
    socket.deliver({ type: 'welcome', challenge: 'c'.repeat(32), server: 'test' });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(socket.sent).toEqual([]);
    releaseIdentity({ identity: self, origin: 'created' });
    runtime = await starting;
    await until(() => socket.sent.some((f) => f['type'] === 'join'), 'the join on the early socket');
    expect(socket.sent.find((f) => f['type'] === 'join')).toMatchObject({ room: 'early', id: self.id });
    socket.deliver({ type: 'joined', room: 'early', self: self.id, peers: [] });
    expect(runtime.snapshot().signaling).toBe('joined');
    // One socket: the client took the early one rather than opening another.
    expect(sockets).toHaveLength(1);
  });

  it('a node that cannot start closes the socket it opened early', async () => {
    const sockets: FakeSocket[] = [];
    const starting = startEarly(sockets, () => Promise.reject(new Error('no key store')));
    await expect(starting).rejects.toThrow('no key store');
    expect(sockets.map((s) => s.readyState)).toEqual([3]);
  });
});
