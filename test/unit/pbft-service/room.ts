// A room of PbftService instances on fake edges, for scenario tests of the consensus service as
// it runs in a tab: real Ed25519 keys and signatures (WebCrypto), in-memory storage, a virtual
// clock, a seeded network with small delays (frames go through JSON as on the wire), and a fake
// gossip layer whose replicated memory is last-writer-wins and reaches other nodes after a
// delay. Scenario steps read like scripts: room.add(), room.runUntil(…), room.crash(id).
import { expect, test } from 'vitest';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { createRng, hashString } from '../../../src/core/rng.ts';
import type { MemberStatus } from '../../../src/core/gossip/index.ts';
import type { Millis, NodeId } from '../../../src/core/types.ts';
import { signText, verifyText, type Identity } from '../../../src/crypto/ed25519.ts';
import { toBase64Url } from '../../../src/crypto/base64url.ts';
import { MemoryStorage } from '../../../src/store/memory.ts';
import type { ServiceContext, ServiceEvent } from '../../../src/worker/service.ts';
import { PbftService, type PbftServiceOptions } from '../../../src/worker/services/pbft.ts';
import type { GossipAccess } from '../../../src/worker/services/pbft-gossip.ts';
import type { ConsensusView } from '../../../src/worker/services/pbft-snapshot.ts';
import { envSeed, longMode } from '../../sim/seed.ts';
import { realTimers } from '../../../src/worker/real-clock.ts';

/** How long a gossip memory write takes to reach the other nodes (about a gossip round). */
export const gossipDelayMs = 1_500;

interface Frame {
  at: Millis;
  order: number;
  from: NodeId;
  to: NodeId;
  text: string;
}

export interface RoomNode {
  id: NodeId;
  identity: Identity;
  storage: MemoryStorage;
  service: PbftService;
  up: boolean;
  /** What ctx.reject counted (the node's refusal list). */
  rejected: Map<string, number>;
}

export class Room {
  now: Millis = 1_700_000_000_000;
  readonly nodes = new Map<NodeId, RoomNode>();
  private readonly queue: Frame[] = [];
  private readonly pairFrames = new Map<string, number>();
  private boots = 0;
  private cryptoTail: Promise<unknown> = Promise.resolve();
  private readonly memory = new Map<string, Array<{ at: Millis; writer: NodeId; value: unknown }>>();
  private readonly statuses = new Map<NodeId, MemberStatus>();
  /** Pairs of nodes with no direct link: their frames go the routed way (sendTo), as over the mesh. */
  readonly unlinked = new Set<string>();
  framesRouted = 0;
  /** Return false to drop a frame, or a replacement text; for tampering tests. */
  intercept: ((from: NodeId, to: NodeId, message: unknown) => unknown) | null = null;
  framesDelivered = 0;

  constructor(
    readonly seed: number,
    readonly name = 'room-1',
    private readonly options: Omit<PbftServiceOptions, 'gossip'> = {},
  ) {}

  // ── nodes ──

  async add(): Promise<RoomNode> {
    const identity = await seededIdentity(`${this.seed}/${this.nodes.size}`);
    const node: RoomNode = {
      id: identity.id,
      identity,
      storage: new MemoryStorage(),
      service: null as unknown as PbftService,
      up: true,
      rejected: new Map(),
    };
    this.nodes.set(node.id, node);
    await this.boot(node);
    return node;
  }

  /** The node stops at once (no goodbye); its storage survives. */
  crash(id: NodeId): void {
    this.node(id).up = false;
  }

  /** Gossip's verdict on a node, told to every other node (as the gossip service would). */
  declare(id: NodeId, status: MemberStatus): void {
    this.statuses.set(id, status);
    const event: ServiceEvent = { type: 'member-status', peer: id, status };
    for (const other of this.upNodes()) if (other.id !== id) other.service.onEvent(event);
  }

  /** A crashed node starts again from its storage, as a reloaded tab does. */
  async restart(id: NodeId): Promise<RoomNode> {
    const node = this.node(id);
    node.up = true;
    this.statuses.set(id, 'alive');
    await this.boot(node);
    return node;
  }

  node(id: NodeId): RoomNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  upNodes(): RoomNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  view(id: NodeId): ConsensusView {
    return this.node(id).service.consensus();
  }

  propose(id: NodeId, op: unknown): Promise<number> {
    return this.node(id).service.commands.propose([op]);
  }

  // ── time ──

  /** Runs until `predicate` holds (checked between steps), or fails after `withinMs` of room time. */
  async runUntil(predicate: () => boolean, what: string, withinMs: Millis = 30_000): Promise<void> {
    const deadline = this.now + withinMs;
    await this.settle();
    while (!predicate()) {
      if (this.now >= deadline) throw new Error(`room time ran out (${withinMs} ms) waiting for: ${what}\n${this.describe()}`);
      await this.step(deadline);
    }
  }

  async runFor(ms: Millis): Promise<void> {
    const end = this.now + ms;
    await this.settle();
    while (this.now < end) await this.step(end);
  }

  /** Waits for a promise while the room runs. */
  async until<T>(promise: Promise<T>, what: string, withinMs: Millis = 30_000): Promise<T> {
    let done = false;
    let value: T | undefined;
    let failure: unknown;
    promise.then(
      (v) => ((done = true), (value = v)),
      (e: unknown) => ((done = true), (failure = e)),
    );
    await this.runUntil(() => done, what, withinMs);
    if (failure !== undefined) throw failure;
    return value as T;
  }

  /** One line per node: where it is. */
  describe(): string {
    return [...this.nodes.values()]
      .map((n) => {
        if (!n.up) return `${short(n.id)}: down`;
        const v = n.service.consensus();
        return `${short(n.id)}: ${v.status} g=${v.genesis?.id ?? '-'} e${v.epoch} v${v.view}${v.mode === 'view-change' ? '*' : ''} n=${v.n} exec ${v.lastCommitted}${v.halted ? ` [${v.halted}]` : ''}`;
      })
      .join('\n');
  }

  // ── internals ──

  private async boot(node: RoomNode): Promise<void> {
    const service = new PbftService({ ...this.options, gossip: this.gossipFor(node.id) });
    node.service = service;
    this.statuses.set(node.id, 'alive');
    await service.start(this.contextFor(node));
  }

  private contextFor(node: RoomNode): ServiceContext {
    // Not annotated: the context grows (mesh routing), and what this service does not use is stubbed.
    const ctx = {
      self: node.id,
      room: this.name,
      now: () => this.now,
      timers: realTimers,
      reenter: (fn: () => void) => fn(),
      rng: createRng(`${this.seed}-${node.id}-${this.boots++}`),
      storage: node.storage,
      send: (peer: NodeId, message: unknown) => !this.unlinked.has(pair(node.id, peer)) && this.send(node.id, peer, message),
      linkedPeers: () =>
        this.upNodes()
          .filter((n) => n.id !== node.id && !this.unlinked.has(pair(node.id, n.id)))
          .map((n) => n.id),
      wantLink: () => {},
      unwantLink: () => {},
      sign: (text: string) => this.serially(() => signText(node.identity, text)),
      verify: (signer: string, text: string, sig: string) => this.serially(() => verifyText(signer, text, sig)),
      changed: () => {},
      reject: (reason: string) => void node.rejected.set(reason, (node.rejected.get(reason) ?? 0) + 1),
      emit: () => {},
      sendTo: (peer: NodeId, message: unknown) => {
        if (this.unlinked.has(pair(node.id, peer))) this.framesRouted++;
        this.send(node.id, peer, message);
      },
      broadcast: () => {},
    };
    return ctx;
  }

  /**
   * Crypto finishes on a thread pool, in whatever order; run it one operation at a time, in the
   * order asked, so every node's asynchronous steps interleave the same way on every run.
   */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.cryptoTail.then(work);
    this.cryptoTail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private gossipFor(self: NodeId): GossipAccess {
    return {
      memoryGet: (key) => {
        let best: { at: Millis; writer: NodeId; value: unknown } | undefined;
        for (const w of this.memory.get(key) ?? []) {
          if (w.writer !== self && w.at + gossipDelayMs > this.now) continue;
          if (!best || w.at > best.at || (w.at === best.at && w.writer > best.writer)) best = w;
        }
        return best === undefined ? undefined : structuredClone(best.value);
      },
      memorySet: (key, value) => {
        const writes = this.memory.get(key) ?? [];
        writes.push({ at: this.now, writer: self, value: structuredClone(value) });
        this.memory.set(key, writes);
      },
      members: () => [...this.nodes.keys()].map((id) => ({ id, status: this.statuses.get(id) ?? 'alive' })),
    };
  }

  private send(from: NodeId, to: NodeId, message: unknown): boolean {
    const target = this.nodes.get(to);
    if (!target?.up || !this.node(from).up) return false;
    let wire: unknown = message;
    if (this.intercept) {
      wire = this.intercept(from, to, message);
      if (wire === false) return true;
    }
    // The delay depends on the seed, the pair and how many frames the pair carried, not on the
    // order in which nodes' asynchronous work (signing, verifying) happened to finish: a run
    // replays exactly from its seed.
    const key = `${from}>${to}`;
    const n = (this.pairFrames.get(key) ?? 0) + 1;
    this.pairFrames.set(key, n);
    const at = this.now + 1 + (hashString(`${this.seed}:${key}:${n}`) % 4);
    this.queue.push({ at, order: n, from, to, text: JSON.stringify(wire) });
    return true;
  }

  /** Lets every node finish what it is doing (async signing, verifying, writing). */
  private async settle(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      await Promise.all(this.upNodes().map((n) => n.service.settled()));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Delivers the next frames or fires the next timers, advancing the clock to them. */
  private async step(limit: Millis): Promise<void> {
    let next = limit;
    for (const f of this.queue) next = Math.min(next, f.at);
    for (const n of this.upNodes()) {
      const wake = n.service.nextWakeAt();
      if (wake !== undefined) next = Math.min(next, wake);
    }
    this.now = Math.max(this.now, next);
    const due = this.queue
      .filter((f) => f.at <= this.now)
      .sort((a, b) => a.at - b.at || a.order - b.order || (a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
    for (const f of due) this.queue.splice(this.queue.indexOf(f), 1);
    for (const f of due) {
      const target = this.nodes.get(f.to);
      if (!target?.up) continue;
      this.framesDelivered++;
      target.service.receive(f.from, JSON.parse(f.text) as unknown);
    }
    for (const n of this.upNodes()) {
      const wake = n.service.nextWakeAt();
      if (wake !== undefined && wake <= this.now) n.service.tick(this.now);
    }
    await this.settle();
  }
}

export const short = (id: string): string => id.slice(0, 8);

/** The key of an unordered pair of nodes. */
export const pair = (a: NodeId, b: NodeId): string => (a < b ? `${a} ${b}` : `${b} ${a}`);

/** Seeds for the service scenarios: SEED=<n> replays one, LONG=1 runs more. */
export function scenarioTest(
  name: string,
  body: (seed: number) => Promise<void>,
  options: { seeds?: number; longSeeds?: number; timeoutMs?: number } = {},
): void {
  const fixed = envSeed();
  const count = longMode() ? (options.longSeeds ?? (options.seeds ?? 1) * 5) : (options.seeds ?? 1);
  const seeds = fixed !== undefined ? [fixed] : Array.from({ length: count }, (_, i) => i + 1);
  for (const seed of seeds) {
    test(
      `${name} [seed ${seed}]`,
      async () => {
        try {
          await body(seed);
        } catch (error) {
          const hint = `SEED=${seed} — replay with: SEED=${seed} npx vitest run --project unit test/unit/pbft-service -t "${name}"`;
          if (error instanceof Error) error.message = `${error.message}\n${hint}`;
          throw error;
        }
      },
      options.timeoutMs ?? 30_000,
    );
  }
}

export { expect };

/** An Ed25519 identity derived from `label`, so a seed gives the same node ids every run. */
async function seededIdentity(label: string): Promise<Identity> {
  const seed = createHash('sha256').update(label).digest();
  // PKCS#8 wrapping of a raw Ed25519 private key (RFC 8410).
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const raw = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }))
    .export({ format: 'der', type: 'spki' })
    .subarray(-32);
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
  const publicKey = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, true, ['verify']);
  return { id: toBase64Url(new Uint8Array(raw)) as NodeId, privateKey, publicKey };
}
