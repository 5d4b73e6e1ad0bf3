// A few nodes running every default service (src/worker/default-services.ts) in one process,
// without NodeRuntime: a virtual clock, a full mesh of "links" that carry real encoded frames,
// in-memory stores, real Ed25519 keys. Every frame goes through the same path as the runtime's
// onFrame — the peer guard, decodeFrame, the service's receive — but nothing catches a throw,
// so a crash anywhere fails the test. The frames the nodes send to each other are kept (a
// capped sample per protocol) as valid seeds for mutation.
import type { Millis, NodeId, ProtocolTag } from '../../src/core/types.ts';
import { createRng } from '../../src/core/rng.ts';
import { decodeFrame, encodeFrame } from '../../src/core/envelope.ts';
import { createIdentity, signText, verifyText, type Identity } from '../../src/crypto/ed25519.ts';
import { MemoryStorage } from '../../src/store/memory.ts';
import { createDefaultServices } from '../../src/worker/default-services.ts';
import { PeerGuard } from '../../src/worker/peer-guard.ts';
import type { Service, ServiceContext, ServiceEvent } from '../../src/worker/service.ts';
import { realTimers } from '../../src/worker/real-clock.ts';

/** Frames kept per protocol as mutation seeds. */
const capturedPerProtocol = 200;
/** Frames in flight at most (a runaway protocol fails loudly instead of eating memory). */
const maxQueuedFrames = 20_000;

export interface FuzzNode {
  id: NodeId;
  identity: Identity;
  storage: MemoryStorage;
  services: Service[];
  byProtocol: Map<ProtocolTag, Service>;
  guard: PeerGuard;
  /** Refusals by reason: runtime-level ("frame: …", "guard: …") and each service's own. */
  rejected: Map<string, number>;
}

export class FuzzMesh {
  now: Millis = 1_700_000_000_000;
  readonly nodes: FuzzNode[] = [];
  readonly captured = new Map<ProtocolTag, unknown[]>();
  private queue: Array<{ from: NodeId; to: NodeId; bytes: Uint8Array }> = [];

  /** `storages` and `identities` bring nodes back as themselves, on the stores they had. */
  static async create(count: number, seed: number, storages: MemoryStorage[] = [], known: Identity[] = []): Promise<FuzzMesh> {
    const mesh = new FuzzMesh();
    const identities = await Promise.all(Array.from({ length: count }, (_, i) => known[i] ?? createIdentity()));
    for (const [i, identity] of identities.entries()) {
      const node: FuzzNode = {
        id: identity.id,
        identity,
        storage: storages[i] ?? new MemoryStorage(),
        services: createDefaultServices(),
        byProtocol: new Map(),
        guard: new PeerGuard(() => mesh.now),
        rejected: new Map(),
      };
      for (const s of node.services) node.byProtocol.set(s.protocol, s);
      mesh.nodes.push(node);
    }
    const rng = createRng(seed);
    for (const node of mesh.nodes) {
      for (const service of node.services) await service.start(mesh.contextFor(node, service, rng.fork(`${node.id}/${service.protocol}`)));
    }
    for (const node of mesh.nodes) {
      mesh.emit(node, { type: 'signaling', joined: true });
      for (const other of mesh.nodes) {
        if (other === node) continue;
        mesh.emit(node, { type: 'peer-introduced', peer: other.id });
        for (const service of node.services) service.linkUp?.(other.id);
      }
    }
    return mesh;
  }

  /**
   * Restarts one node as itself on `storage` (a tab reloaded): the others see its links go
   * down and come back, and its services load whatever the store holds.
   */
  async restart(index: number, storage: MemoryStorage, seed: number): Promise<FuzzNode> {
    const old = this.nodes[index];
    if (!old) throw new Error(`no node ${index}`);
    for (const other of this.nodes) {
      if (other === old) continue;
      for (const service of other.services) service.linkDown?.(old.id, 'peer restarted');
    }
    this.queue = this.queue.filter((f) => f.from !== old.id && f.to !== old.id);
    const node: FuzzNode = {
      ...old,
      storage,
      services: createDefaultServices(),
      byProtocol: new Map(),
      guard: new PeerGuard(() => this.now),
      rejected: new Map(),
    };
    for (const s of node.services) node.byProtocol.set(s.protocol, s);
    this.nodes[index] = node;
    const rng = createRng(seed);
    for (const service of node.services) await service.start(this.contextFor(node, service, rng.fork(service.protocol)));
    this.emit(node, { type: 'signaling', joined: true });
    for (const other of this.nodes) {
      if (other === node) continue;
      this.emit(node, { type: 'peer-introduced', peer: other.id });
      for (const service of node.services) service.linkUp?.(other.id);
      for (const service of other.services) service.linkUp?.(node.id);
    }
    return node;
  }

  /** Proposes a decision through node's consensus service; resolves with the outcome, never rejects. */
  propose(node: FuzzNode, value: string): Promise<unknown> {
    const propose = node.byProtocol.get('pbft')?.commands?.['propose'];
    if (!propose) return Promise.resolve(new Error('no pbft service'));
    try {
      return Promise.resolve(propose([{ kind: 'decision', value }])).catch((error: unknown) => error);
    } catch (error) {
      return Promise.resolve(error);
    }
  }

  /** The committed log of node's consensus service as [seq, digest] pairs. */
  committedLog(node: FuzzNode): Array<[number, string]> {
    const consensus = (node.byProtocol.get('pbft')?.snapshot?.() as { consensus?: { log?: Array<{ seq: number; digest: string }> } } | undefined)?.consensus;
    return (consensus?.log ?? []).map((e) => [e.seq, e.digest]);
  }

  /**
   * Safety across replicas: no two nodes hold different operations at one sequence number
   * (a node that lags holds fewer; that is liveness, checked separately). Returns the
   * conflicts found, as text.
   */
  logConflicts(among: readonly FuzzNode[] = this.nodes): string[] {
    // Sequence numbers only mean the same thing under one genesis (one consensus history).
    const bySeq = new Map<string, { digest: string; node: NodeId }>();
    const conflicts: string[] = [];
    for (const node of among) {
      const genesis = this.genesisOf(node);
      for (const [seq, digest] of this.committedLog(node)) {
        const first = bySeq.get(`${genesis}/${seq}`);
        if (!first) bySeq.set(`${genesis}/${seq}`, { digest, node: node.id });
        else if (first.digest !== digest)
          conflicts.push(
            `genesis ${genesis} seq ${seq}: ${first.node.slice(0, 8)} has ${first.digest.slice(0, 12)}, ${node.id.slice(0, 8)} has ${digest.slice(0, 12)}`,
          );
      }
    }
    return conflicts;
  }

  /** The id of the genesis (consensus history) node's consensus service follows, or null. */
  genesisOf(node: FuzzNode): string | null {
    const consensus = (node.byProtocol.get('pbft')?.snapshot?.() as { consensus?: { genesis?: { id?: string } | null } } | undefined)?.consensus;
    return consensus?.genesis?.id ?? null;
  }

  /**
   * Every refusal the node counted: what it reported through ctx.reject, plus the counters the
   * cores keep in their own snapshots (gossip.rejected, routing.dropped, compute.refusals, …).
   */
  rejectedTotal(node: FuzzNode): number {
    let sum = 0;
    for (const n of node.rejected.values()) sum += n;
    for (const service of node.services) sum += refusalCounts(service.snapshot?.() ?? {}, false);
    return sum;
  }

  /** The runtime's frame path (src/worker/runtime.ts onFrame), with nothing catching a throw. */
  deliver(to: FuzzNode, from: NodeId, bytes: Uint8Array): void {
    const verdict = to.guard.frame(from, bytes.byteLength);
    if (verdict.kind !== 'admit') {
      this.count(to, `guard: ${verdict.kind}`);
      return;
    }
    const frame = decodeFrame(bytes);
    if (!frame.ok) {
      this.count(to, 'frame: bad frame');
      to.guard.garbage(from, 'bad frame');
      return;
    }
    if (frame.value.p === 'link') return; // the runtime's own ping/pong/bye/chat: fuzzed in decoders.test.ts
    const service = to.byProtocol.get(frame.value.p);
    if (!service) {
      this.count(to, 'frame: unknown protocol');
      to.guard.garbage(from, 'unknown protocol');
      return;
    }
    service.receive(from, frame.value.m);
  }

  /** Advances the virtual clock by `ms` in steps, waking services and delivering frames. */
  async run(ms: number, stepMs = 50): Promise<void> {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += stepMs;
      for (const node of this.nodes) {
        for (const service of node.services) {
          const at = service.nextWakeAt?.();
          if (at !== undefined && at <= this.now) service.tick?.(this.now);
        }
      }
      await flush();
      const batch = this.queue;
      this.queue = [];
      for (const f of batch) {
        const to = this.nodes.find((n) => n.id === f.to);
        if (to) this.deliver(to, f.from, f.bytes);
      }
      await flush();
    }
  }

  private count(node: FuzzNode, reason: string): void {
    node.rejected.set(reason, (node.rejected.get(reason) ?? 0) + 1);
  }

  private emit(node: FuzzNode, event: ServiceEvent, from?: Service): void {
    for (const service of node.services) if (service !== from) service.onEvent?.(event);
  }

  private send(from: FuzzNode, to: NodeId, protocol: ProtocolTag, message: unknown): boolean {
    if (to === from.id || !this.nodes.some((n) => n.id === to)) return false;
    const kept = this.captured.get(protocol) ?? [];
    if (kept.length < capturedPerProtocol) kept.push(JSON.parse(JSON.stringify(message)) as unknown);
    this.captured.set(protocol, kept);
    if (this.queue.length >= maxQueuedFrames) throw new Error(`more than ${maxQueuedFrames} frames in flight: a runaway protocol`);
    this.queue.push({ from: from.id, to, bytes: encodeFrame(protocol, message) });
    return true;
  }

  private contextFor(node: FuzzNode, service: Service, rng: ReturnType<typeof createRng>): ServiceContext {
    const others = () => this.nodes.filter((n) => n !== node).map((n) => n.id);
    return {
      self: node.id,
      room: 'fuzz',
      now: () => this.now,
      timers: realTimers,
      rng,
      reenter: (fn) => fn(),
      storage: node.storage,
      send: (peer, message) => this.send(node, peer, service.protocol, message),
      linkedPeers: others,
      wantLink: () => {},
      unwantLink: () => {},
      sign: (text) => signText(node.identity, text),
      verify: verifyText,
      changed: () => {},
      reject: (reason) => this.count(node, `${service.protocol}: ${reason}`),
      emit: (event) => this.emit(node, event, service),
      sendTo: (peer, message) => void this.send(node, peer, service.protocol, message),
      broadcast: (message) => {
        for (const peer of others()) this.send(node, peer, service.protocol, message);
      },
    };
  }
}

/** Sums the numbers under keys that name refusals, at any depth of a snapshot. */
function refusalCounts(value: unknown, inside: boolean, depth = 0): number {
  if (typeof value === 'number') return inside && Number.isFinite(value) ? value : 0;
  if (value === null || typeof value !== 'object' || depth > 6) return 0;
  let sum = 0;
  for (const [key, child] of Object.entries(value)) sum += refusalCounts(child, inside || /reject|drop|refus|malformed|invalid|ignored/i.test(key), depth + 1);
  return sum;
}

/** Lets pending promise callbacks (signing, verifying, storage) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
