// The pBFT core in a tab (or a Node peer): every node runs a PbftReplica — a replica while it
// is in the committed replica set, an observer otherwise. This service
//  - agrees with the room on a genesis and starts the core from it (src/core/pbft-room/: the
//    rule is pure there; this file verifies, signs, stores and switches);
//  - restores the core from the node's storage (everything under `pbft/`) and writes what the
//    core persists through the one effect driver (pbft-driver.ts), durable before any send that follows it;
//  - signs what the core asks with the node's Ed25519 key, and checks every signature of every
//    incoming message (pbft-verify.ts) before the core sees it; forged, malformed and foreign
//    frames are refused and counted here, replayed, wrongly addressed and wrong-digest ones by
//    the core — all show in snapshot().consensus.rejected and the node's refusal list;
//  - sends over the direct link to a node, or over the mesh when there is none (pbft-wire.ts);
//  - turns gossip's member list into the core's `peers` and into membership operations
//    (src/core/pbft-room/membership.ts), and a person's proposals into requests (pbft-proposals.ts);
//  - offers `propose` and `setByzantine` to window.tabmesh and the UI.
// It uses only ServiceContext and a GossipAccess, so it runs unchanged in a worker and in Node.
import {
  byzantineModes,
  decodeMessage,
  defaultPbftParams,
  describeOp,
  isByzantineMode,
  maxBatchRequestsOnWire,
  PbftReplica,
  persistPrefix,
  signaturesToVerify,
  type ByzantineMode,
  type ClientResultEvent,
  type CommittedEvent,
  type Op,
  type PbftParams,
  type PbftTiming,
  type PbftUiEvent,
  type PbftView,
} from '../../core/pbft/index.ts';
import type { Millis, NodeId } from '../../core/types.ts';
import { sha256Hex } from '../../compute/kernels/sha256.ts';
import type { Service, ServiceContext, ServiceEvent } from '../service.ts';
import { PbftDriver } from './pbft-driver.ts';
import { AppMachinesBridge } from './pbft-apps.ts';
import { loadChecked, setAside } from '../../store/set-aside.ts';
import { checkPbftRecord } from './pbft-stored.ts';
import { GroupCommit } from '../group-commit.ts';
import {
  decodeFollowRecord,
  decodeGenesisRecord,
  followStorageKey,
  GenesisAgreement,
  genesisId,
  genesisMemoryKey,
  genesisText,
  MembershipPlanner,
  type FollowRecord,
  type GenesisBody,
  type GenesisRecord,
} from '../../core/pbft-room/index.ts';
import type { GossipAccess } from './pbft-gossip.ts';
import { PhaseBoard } from './pbft-phases.ts';
import { Proposals, proposalTagPrefix, toOp } from './pbft-proposals.ts';
import { bootstrappingView, consensusView, EventLog, ThroughputWindow, type ConsensusExtras, type ConsensusView } from './pbft-snapshot.ts';
import { SignatureVerifier } from './pbft-verify.ts';
import { CommitTimeline } from './pbft-timing.ts';
import { decodePbftFrame, transmit } from './pbft-wire.ts';
import { PbftTrace } from '../../core/pbft/trace.ts';

/** How often the service looks at gossip (genesis record, members) and submits membership changes. */
export const housekeepingIntervalMs: Millis = 250;
/** While inputs wait for the core, the runtime is asked to look again this soon (timers may move). */
export const busyRecheckMs: Millis = 25;
/**
 * Local timing: a proposal fails after 30 s without f+1 matching replies (the core's default is
 * a minute; a person waiting at the UI deserves an answer sooner).
 */
export const clientTimeoutMs: Millis = 30_000;
/** Rounds settled() waits for the service to go quiet before it resolves anyway. */
const settleRounds = 4;
/** Membership requests waiting for their result; no more are planned until some end. */
const maxOpenMemberOps = 32;
/** Refusal reasons counted by this service itself (a fixed vocabulary; guard only). */
const maxLocalReasons = 32;
/** Core refusals forwarded to the node's refusal list per housekeeping round at most. */
const maxForwardedRefusals = 1_000;
/** Genesis records whose signature was checked, remembered; oldest forgotten. */
const verifiedGenesisKept = 16;

export interface PbftServiceOptions {
  gossip: GossipAccess;
  /** Protocol parameters: every node of a room must use the same (default: the core's). */
  params?: Partial<PbftParams>;
  /** Local timing (may differ per node). */
  timing?: Partial<PbftTiming>;
}

export class PbftService implements Service {
  readonly protocol = 'pbft' as const;
  private ctx!: ServiceContext;
  private durable!: GroupCommit;
  private verifier!: SignatureVerifier;
  /** Where this node's commits spend their time (snapshot().consensus.proposals.timing). */
  private timeline!: CommitTimeline;
  private readonly gossip: GossipAccess;
  private readonly params: Partial<PbftParams>;
  private readonly timing: Partial<PbftTiming>;

  private follow: FollowRecord | null = null;
  private followId: string | null = null;
  private driver: PbftDriver | null = null;
  private generation = 0;
  /** Which genesis to follow, and whether proposals may go to the core yet (pure; monotonic times). */
  private agreement!: GenesisAgreement;
  private switching = false;
  private stopping = false;
  private byzantine: ByzantineMode | null = null;
  /** Requests per pre-prepare when this node is primary, if set live (setBatchSize). */
  private batchSize: number | null = null;
  private resets = 0;
  private discardedCommits = 0;

  private genesisBusy = false;
  private genesisWork: Promise<void> = Promise.resolve();
  private lastBadGenesis = '';
  private readonly verifiedGenesis = new Map<string, boolean>();
  /**
   * The gossip memory value last found to be a good genesis record, and the record. Housekeeping
   * looks every 250 ms; gossip replaces a value on change and never alters one in place, so the
   * same value needs no second decode, hash and signature lookup (most of an idle node's work).
   */
  private goodGenesisInMemory: { raw: unknown; record: GenesisRecord } | null = null;

  private nextHousekeepingAt: Millis = 0;
  private lastPeers = '';
  private cachedView: PbftView | null = null;
  private forwarded: Record<string, number> = {};
  private readonly localRejected = new Map<string, number>();
  private readonly traffic = { direct: 0, routed: 0, received: 0 };

  private readonly proposals = new Proposals();
  private membership = new MembershipPlanner();
  private readonly memberOps = new Map<string, Op>();
  private memberTag = 0;
  private readonly throughput = new ThroughputWindow();
  private readonly events = new EventLog();
  private readonly phases = new PhaseBoard();
  /** The apps' own state machines: committed operations to the page, the page's proposals and votes in. */
  private readonly apps = new AppMachinesBridge({
    core: () => (this.driver && !this.switching ? this.driver.core : null),
    genesis: () => this.followId,
    stopping: () => this.stopping,
    propose: (op) => {
      const result = this.proposals.addForResult(op, this.ctx.now());
      this.timeline.submitted(this.ctx.now());
      this.handProposals();
      this.ctx.changed();
      return result;
    },
    submit: (op, tag) => this.driver?.input({ type: 'submit', op, tag }) ?? false,
    publish: (name, payload) => this.ctx.publishEvent?.(name, payload),
  });
  /** The messages this node really sent and received, bounded, for the demo view (src/core/pbft/trace.ts). */
  readonly trace = new PbftTrace();
  /**
   * A node that only watches (the demo view's tab): it never founds a genesis nor asks to join
   * the replicas, so it is drawn apart and changes no quorum. Set by the demo service.
   */
  observerOnly = false;

  constructor(options: PbftServiceOptions) {
    this.gossip = options.gossip;
    this.params = options.params ?? {};
    this.timing = { clientTimeoutMs, ...options.timing };
  }

  // ── Service ──

  async start(ctx: ServiceContext): Promise<void> {
    this.ctx = ctx;
    this.agreement = new GenesisAgreement(ctx.self);
    this.durable = new GroupCommit(ctx.storage, {
      now: () => ctx.now(),
      failed: (error) => ctx.reject(`storage write failed: ${String(error)}`),
      deletesWhenIdle: true,
    });
    this.verifier = new SignatureVerifier((signer, text, sig) => ctx.verify(signer, text, sig));
    this.timeline = new CommitTimeline(ctx.self);
    const stored = await this.loadFollowRecord();
    if (stored) {
      await this.startCore(stored, await this.readPersisted());
      this.events.add(ctx.now(), 'genesis', `restarted from storage under the genesis founded by ${short(stored.genesis.body.founder)}`);
    } else {
      // Consensus state without a follow record belongs to no known genesis (a switch cut short).
      for (const key of await ctx.storage.keys(persistPrefix)) await ctx.storage.del(key);
    }
  }

  receive(from: NodeId, raw: unknown): void {
    this.traffic.received++;
    const frame = decodePbftFrame(raw);
    if (!frame.ok) return this.refuse('malformed frame');
    const driver = this.driver;
    if (!driver || this.switching) return this.count('not following a genesis yet');
    if (frame.value.g !== this.followId) {
      // The sender follows another genesis: one of us will adopt the better one shortly.
      this.nextHousekeepingAt = Math.min(this.nextHousekeepingAt, this.ctx.now());
      return this.refuse('other genesis');
    }
    const decoded = decodeMessage(frame.value.m);
    if (!decoded.ok) return this.refuse('malformed message');
    const msg = decoded.value;
    const receivedAt = this.ctx.now();
    this.trace.received(this.ctx.self, from, msg, receivedAt);
    this.timeline.received(msg, receivedAt);
    const verification = this.verifier.verifyAll(signaturesToVerify(msg));
    void verification.then(() => this.timeline.took('verify', this.ctx.now() - receivedAt));
    const queued = driver.input(async () => {
      const outcome = await verification;
      if (outcome.ok) return { type: 'message', msg, from };
      this.refuse('bad signature');
      return null;
    });
    if (!queued) this.refuse('overloaded');
  }

  onEvent(event: ServiceEvent): void {
    const mono = this.monotonic();
    if (event.type === 'signaling') return this.agreement.signaling(event.joined, mono);
    if (event.type === 'peer-introduced') return this.agreement.introduced(event.peer, mono);
    if (event.type === 'peer-left-room') return this.agreement.leftRoom(event.peer, mono);
    const how = event.status === 'dead' || event.status === 'left' ? event.status : null;
    this.agreement.member(event.peer, event.status, mono);
    this.membership.memberStatus(event.peer, how, this.ctx.now());
    this.nextHousekeepingAt = Math.min(this.nextHousekeepingAt, this.ctx.now());
  }

  tick(now: Millis): void {
    if (now >= this.nextHousekeepingAt) {
      this.nextHousekeepingAt = now + housekeepingIntervalMs;
      this.housekeeping(now);
    }
    const due = this.driver?.core.nextWakeAt();
    if (this.driver && due !== undefined && due <= now) this.driver.tick();
  }

  nextWakeAt(): Millis | undefined {
    let next = this.nextHousekeepingAt;
    const driver = this.driver;
    if (driver) {
      // While inputs are being stepped the core's timers may move; look again shortly.
      const core = driver.busy ? this.ctx.now() + busyRecheckMs : driver.core.nextWakeAt();
      if (core !== undefined) next = Math.min(next, core);
    }
    return next;
  }

  shutdown(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.proposals.failAll(`not committed: this node is shutting down (${reason})`);
    const driver = this.driver;
    if (!driver) return;
    const view = this.view();
    // A Node peer lingers until its request is sent (settled) and a moment more, so the leave
    // is ordered. A closing tab's links go down at once: there the others see gossip's 'left'
    // and vote the node out after removeGraceMs (which also spares a reloading tab).
    if (view.role === 'replica' && view.replicas.length > 1) this.submitMember({ kind: 'leave', node: this.ctx.self });
  }

  /** Resolves when every queued input has been stepped and its writes and sends are done. */
  async settled(): Promise<void> {
    // A few rounds: a genesis switch starts a new core, whose start has effects of its own. Under
    // steady traffic the driver may never be idle for long; that is no reason to wait forever.
    for (let round = 0; round < settleRounds; round++) {
      await this.genesisWork;
      await this.driver?.idle();
      await this.durable?.idle();
      if (!this.genesisBusy && !this.driver?.busy) return;
    }
  }

  readonly commands = {
    ...this.apps.commands,
    /** Resolves with the committed sequence number once f+1 replicas replied alike. */
    propose: (args: unknown[]): Promise<number> => {
      if (this.stopping) throw new Error('this node is shutting down');
      const op = toOp(args[0]);
      if (!op.ok) throw new Error(`propose(op) refused: ${op.error}`);
      const result = this.proposals.add(op.value, this.ctx.now());
      this.timeline.submitted(this.ctx.now());
      this.handProposals();
      this.ctx.changed();
      return result;
    },
    setByzantine: (args: unknown[]): true => {
      const mode = args[0] ?? null;
      if (mode !== null && !isByzantineMode(mode)) {
        throw new Error(`setByzantine(mode): mode must be null (honest) or one of ${byzantineModes.join(', ')}`);
      }
      this.byzantine = mode;
      this.driver?.input({ type: 'set-byzantine', mode });
      return true;
    },
  };

  /**
   * Requests this node puts in one pre-prepare while it is primary, live (a local choice: other
   * nodes accept any count up to the wire ceiling). Throws with the reason when out of range.
   */
  setBatchSize(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > maxBatchRequestsOnWire) throw new Error(`batch size must be a whole number from 1 to ${maxBatchRequestsOnWire}`);
    this.batchSize = n;
    this.driver?.core.setMaxBatchRequests(n);
    return n;
  }

  snapshot(): Record<string, unknown> {
    return { consensus: this.consensus() };
  }

  /** This node's consensus view (what snapshot().consensus holds). */
  consensus(): ConsensusView {
    const now = this.ctx ? this.ctx.now() : 0;
    const extras: ConsensusExtras = {
      genesis: this.follow
        ? {
            id: this.followId as string,
            founder: this.follow.genesis.body.founder,
            foundedAt: this.follow.genesis.body.foundedAt,
            settled: this.genesisSettled(),
            resets: this.resets,
            discardedCommits: this.discardedCommits,
          }
        : null,
      proposals: { ...this.proposals.stats(), timing: this.timeline?.stats() },
      throughputOpsPerSec: this.throughput.perSecond(now),
      rejected: Object.fromEntries(this.localRejected),
      events: this.events.list(),
      signatures: this.verifier ? this.verifier.stats() : { checked: 0, cacheHits: 0, failed: 0, cached: 0 },
      traffic: { ...this.traffic },
      storage: this.durable ? this.durable.stats() : { batches: 0, requests: 0, writeMs: { p50: null, p99: null } },
      machines: this.apps.view(),
    };
    return this.driver && !this.switching ? consensusView(this.view(), extras, this.phases.list()) : bootstrappingView(extras, this.byzantine);
  }

  // ── the core ──

  private view(): PbftView {
    const driver = this.driver as PbftDriver;
    return (this.cachedView ??= driver.core.view());
  }

  private async startCore(follow: FollowRecord, persisted: Array<[string, unknown]>): Promise<void> {
    const ctx = this.ctx;
    const generation = ++this.generation;
    const options = {
      id: ctx.self,
      genesis: [follow.genesis.body.founder],
      digest: sha256Hex,
      rng: ctx.rng.fork(`core-${generation}`),
      params: this.batchSize === null ? this.params : { ...this.params, maxBatchRequests: this.batchSize },
      timing: this.timing,
      byzantine: this.byzantine,
    };
    let core: PbftReplica;
    try {
      core = new PbftReplica({ ...options, persisted });
    } catch (error) {
      // Stored state the core cannot start from: start empty and catch up from the others.
      ctx.reject(`stored consensus state unusable: ${error instanceof Error ? error.message : String(error)}`);
      core = new PbftReplica(options);
    }
    this.follow = follow;
    this.followId = genesisId(follow.genesis);
    this.agreement.follow(follow.genesis, this.monotonic());
    this.forwarded = {};
    this.cachedView = null;
    const followId = this.followId;
    const driver = new PbftDriver(core, this.durable, {
      now: () => ctx.now(),
      // A 'forge' replica asks for signatures in other replicas' names: the runtime can only sign
      // with this node's key, so the result is a real forgery that honest receivers refuse.
      sign: async (text, signer) => {
        const began = ctx.now();
        const sig = await ctx.sign(text);
        this.timeline.took('sign', ctx.now() - began);
        // Our own signatures come back to us nested in others' messages: no need to check them then.
        if (signer === ctx.self) this.verifier.remember(signer, text, sig);
        return sig;
      },
      send: (to, msg) => {
        const frame = { g: followId, m: msg };
        this.trace.sent(ctx.self, to, msg, ctx.now());
        this.timeline.sent(msg, ctx.now());
        for (const peer of to) this.traffic[transmit(ctx, peer, frame)]++;
      },
      committed: (effect) => this.onCommitted(effect),
      reenter: (fn) => ctx.reenter(fn),
      clientResult: (effect) => this.onClientResult(effect),
      ui: (event) => this.onUi(event),
      failed: (error) => {
        console.error('tabmesh: the pBFT core failed:', error);
        ctx.reject('pbft core internal error');
      },
      stepped: () => {
        this.cachedView = null;
        ctx.changed();
      },
    });
    this.driver = driver;
    driver.start();
    this.apps.jumped();
    this.lastPeers = '';
    this.feedPeers();
    this.handProposals();
    ctx.changed();
  }

  private async readPersisted(): Promise<Array<[string, unknown]>> {
    // A record that does not check out is set aside with its reason (src/store/set-aside.ts).
    return (await loadChecked(this.ctx.storage, persistPrefix, checkPbftRecord, this.ctx.now())).entries;
  }

  private onCommitted(event: CommittedEvent): void {
    const now = this.ctx.now();
    this.throughput.add(now, event.entries.length);
    this.apps.committed(event.seq, event.entries);
    for (const entry of event.entries) {
      const op = entry.op;
      if (op.kind === 'join' || op.kind === 'leave' || op.kind === 'remove') {
        const what = entry.result.ok
          ? entry.result.effectiveAfterSeq !== undefined
            ? `takes effect after ${entry.result.effectiveAfterSeq}`
            : (entry.result.note ?? 'recorded')
          : `refused: ${entry.result.note ?? 'no reason given'}`;
        this.events.add(now, 'membership', `${describeOp(op)} committed at ${event.seq} (by ${short(entry.client)}): ${what}`);
      }
    }
  }

  private onClientResult(event: ClientResultEvent): void {
    const now = this.ctx.now();
    if (event.ok) this.timeline.result(event.ts, this.view().quorum, now);
    if (event.tag?.startsWith(proposalTagPrefix)) {
      this.proposals.settle(event, now);
      return;
    }
    const op = event.tag !== undefined ? this.memberOps.get(event.tag) : undefined;
    if (!op || event.tag === undefined) return;
    this.memberOps.delete(event.tag);
    this.membership.result(op, event.ok, event.ok ? event.result : undefined, now);
    if (!event.ok) this.events.add(now, 'membership', `${describeOp(op)} did not commit: ${event.reason}`);
  }

  private onUi(event: PbftUiEvent): void {
    const now = this.ctx.now();
    switch (event.type) {
      case 'phase':
        this.phases.phase(event);
        return;
      case 'executed':
        this.phases.executed(event);
        return;
      case 'view-change-started':
        this.events.add(now, 'view-change', `view change ${event.from} → ${event.to}: ${event.reason}`);
        break;
      case 'view-change-finished':
        this.events.add(now, 'view-change', `view ${event.view} begins; primary ${short(event.primary)}`);
        break;
      case 'epoch-changed':
        this.events.add(now, 'epoch', `epoch ${event.epoch} after ${event.startSeq}: ${event.replicas.length} replicas, this node a ${event.role}`);
        break;
      case 'stalled':
        this.events.add(now, 'stalled', event.reason);
        break;
      case 'diverged':
        this.events.add(now, 'diverged', `a quorum certified another state at ${event.seq} than this node computed`);
        break;
      case 'state-transferred':
        this.events.add(now, 'state-transfer', `caught up to ${event.seq} from a checkpoint`);
        this.apps.jumped();
        break;
      case 'byzantine':
        this.events.add(now, 'byzantine', event.mode ? `this node now behaves Byzantine: ${event.mode}` : 'this node is honest again');
        break;
      default:
        return;
    }
    this.ctx.changed();
  }

  // ── housekeeping: genesis, peers, membership, proposals ──

  private housekeeping(now: Millis): void {
    // Before any genesis too: whether this node may found one depends on who gossip lists.
    this.pollMembers(now);
    if (!this.genesisBusy) this.genesisWork = this.checkGenesis();
    if (!this.driver || this.switching) return;
    this.feedPeers();
    this.handProposals();
    if (this.memberOps.size < maxOpenMemberOps) {
      const view = this.view();
      const ops = this.membership.plan({
        now,
        self: this.ctx.self,
        role: view.role,
        epoch: view.epoch,
        replicas: view.replicas,
        maxReplicas: this.params.maxReplicas ?? defaultPbftParams.maxReplicas,
        active: !this.stopping && !this.observerOnly,
      });
      for (const op of ops) this.submitMember(op);
    }
    this.forwardRefusals();
  }

  private pollMembers(now: Millis): void {
    const mono = this.monotonic();
    // Whether the room can reach this node at all, and whether gossip holds all of it or a sample (founding.ts).
    this.agreement.links(this.ctx.linkedPeers().length > 0, mono);
    this.agreement.sample(this.gossip.partialView(), mono);
    for (const m of this.gossip.members()) {
      if (m.id === this.ctx.self) continue;
      this.agreement.member(m.id, m.status, mono);
      this.membership.memberStatus(m.id, m.status === 'dead' || m.status === 'left' ? m.status : null, now);
    }
  }

  /** The core asks live members for news when it knows no live replica (a newcomer). */
  private feedPeers(): void {
    if (!this.driver) return;
    const peers = this.gossip
      .members()
      .filter((m) => m.id !== this.ctx.self && (m.status === 'alive' || m.status === 'suspect'))
      .map((m) => m.id);
    const key = peers.join(',');
    if (key === this.lastPeers) return;
    this.lastPeers = key;
    this.driver.input({ type: 'peers', peers });
  }

  private genesisSettled(): boolean {
    return this.follow !== null && this.agreement.settled(this.monotonic());
  }

  /** The node's monotonic clock (a bare test context without one: its only clock). */
  private monotonic(): Millis {
    return this.ctx.monotonic?.() ?? this.ctx.now();
  }

  private handProposals(): void {
    const driver = this.driver;
    if (!driver || this.switching || !this.genesisSettled()) return;
    for (const { tag, op } of this.proposals.takeFor(this.generation)) {
      if (!driver.input({ type: 'submit', op, tag })) {
        this.proposals.settle({ type: 'client-result', tag, ok: false, reason: 'this node is overloaded; try again' }, this.ctx.now());
      }
    }
  }

  private submitMember(op: Op): void {
    const tag = `member:${++this.memberTag}`;
    this.memberOps.set(tag, op);
    this.driver?.input({ type: 'submit', op, tag });
  }

  /** The core's own refusals also go to the node's refusal list (ctx.reject), as they happen. */
  private forwardRefusals(): void {
    const rejected = this.view().rejected;
    let budget = maxForwardedRefusals;
    for (const [reason, count] of Object.entries(rejected)) {
      const before = this.forwarded[reason] ?? 0;
      for (let i = before; i < count && budget > 0; i++, budget--) this.ctx.reject(reason);
      this.forwarded[reason] = count;
    }
  }

  // ── genesis ──

  private async loadFollowRecord(): Promise<FollowRecord | null> {
    const raw = await this.ctx.storage.get(followStorageKey);
    if (raw === undefined) return null;
    const decoded = decodeFollowRecord(raw);
    if (!decoded.ok) {
      this.ctx.reject(`stored genesis record unreadable (${decoded.error}); finding the room's again`);
      await setAside(this.ctx.storage, followStorageKey, raw, `${decoded.error}; the room's genesis is found again`, this.ctx.now());
      return null;
    }
    const record = decoded.value;
    if (record.genesis.body.room !== this.ctx.room) return null;
    return (await this.genesisSignatureOk(record.genesis)) ? record : null;
  }

  private async genesisSignatureOk(record: GenesisRecord): Promise<boolean> {
    const key = `${genesisId(record)}:${record.sig}`;
    const known = this.verifiedGenesis.get(key);
    if (known !== undefined) return known;
    const ok = await this.ctx.verify(record.body.founder, genesisText(record.body), record.sig).catch(() => false);
    this.verifiedGenesis.set(key, ok);
    if (this.verifiedGenesis.size > verifiedGenesisKept) this.verifiedGenesis.delete(this.verifiedGenesis.keys().next().value as string);
    return ok;
  }

  /** The room's genesis record from gossip memory, if it is well-formed, of this room and signed by its founder. */
  private async genesisInMemory(): Promise<GenesisRecord | null> {
    const raw = this.gossip.memoryGet(genesisMemoryKey);
    if (raw === undefined) return null;
    if (this.goodGenesisInMemory?.raw === raw) return this.goodGenesisInMemory.record;
    const decoded = decodeGenesisRecord(raw);
    let problem: string | null = null;
    if (!decoded.ok) problem = 'malformed genesis record in gossip memory';
    else if (decoded.value.body.room !== this.ctx.room) problem = 'genesis record of another room in gossip memory';
    else if (!(await this.genesisSignatureOk(decoded.value))) problem = 'forged genesis record in gossip memory';
    if (problem === null) {
      const record = (decoded as { value: GenesisRecord }).value;
      this.goodGenesisInMemory = { raw, record };
      return record;
    }
    // Count each bad value once, not at every look.
    const seen = JSON.stringify(raw).slice(0, 512);
    if (seen !== this.lastBadGenesis) {
      this.lastBadGenesis = seen;
      this.refuse(problem);
    }
    return null;
  }

  private async checkGenesis(): Promise<void> {
    if (this.genesisBusy || this.stopping || this.switching) return;
    this.genesisBusy = true;
    try {
      const inMemory = await this.genesisInMemory();
      const action = this.agreement.decide(inMemory, this.monotonic());
      switch (action.kind) {
        case 'found':
          if (!this.observerOnly) await this.found();
          break;
        case 'adopt':
          await this.adopt(action.record);
          break;
        case 'assert':
          this.assertGenesis();
          break;
        case 'wait':
        case 'keep':
          break;
      }
    } catch (error) {
      this.ctx.reject(`genesis: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.genesisBusy = false;
    }
  }

  private async found(): Promise<void> {
    const body: GenesisBody = { type: 'pbft-genesis', v: 1, room: this.ctx.room, founder: this.ctx.self, foundedAt: Math.floor(this.ctx.now()) };
    const record: GenesisRecord = { body, sig: await this.ctx.sign(genesisText(body)) };
    this.verifiedGenesis.set(`${genesisId(record)}:${record.sig}`, true);
    await this.switchTo(record);
    this.events.add(this.ctx.now(), 'genesis', 'no consensus in this room yet: this node founded it and is its first replica');
    this.assertGenesis();
  }

  private async adopt(record: GenesisRecord): Promise<void> {
    const before = this.driver ? this.view().lastCommitted : 0;
    const wasFollowing = this.follow !== null;
    await this.switchTo(record);
    const by = short(record.body.founder);
    if (wasFollowing) {
      this.resets++;
      this.discardedCommits += before;
      this.events.add(this.ctx.now(), 'genesis', `adopted the room's earlier genesis (founded by ${by}); dropped ${before} local commits`);
    } else {
      this.events.add(this.ctx.now(), 'genesis', `follows the room's genesis (founded by ${by}); asking to join`);
    }
  }

  /**
   * Starts over under `record`: the old core stops, its writes land, then everything under
   * `pbft/` and the follow record are deleted, and only then the new follow record is written.
   */
  private async switchTo(record: GenesisRecord): Promise<void> {
    this.switching = true;
    try {
      this.driver?.close();
      this.driver = null;
      this.cachedView = null;
      // Membership requests of the old core will never be answered; plan afresh under the new one.
      this.memberOps.clear();
      this.membership = new MembershipPlanner();
      this.phases.clear();
      // The old core's writes land first; only then is its state deleted.
      await this.durable.idle();
      const stale = await this.ctx.storage.keys(persistPrefix);
      const follow: FollowRecord = { v: 1, genesis: record, followedSince: Math.floor(this.ctx.now()) };
      this.durable.persist([], [followStorageKey, ...stale]);
      this.durable.persist([[followStorageKey, follow]], []);
      await this.durable.idle();
      await this.startCore(follow, []);
    } finally {
      this.switching = false;
    }
  }

  private assertGenesis(): void {
    if (!this.follow || !this.agreement.assertDue(this.monotonic())) return;
    try {
      this.gossip.memorySet(genesisMemoryKey, this.follow.genesis);
    } catch (error) {
      this.ctx.reject(`genesis: gossip refused the record (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  // ── refusals ──

  /** A refused input from a peer: counted here and in the node's refusal list. */
  private refuse(reason: string): void {
    this.count(reason);
    this.ctx.reject(reason);
  }

  private count(reason: string): void {
    const key = `runtime: ${reason}`;
    if (!this.localRejected.has(key) && this.localRejected.size >= maxLocalReasons) return;
    this.localRejected.set(key, (this.localRejected.get(key) ?? 0) + 1);
  }
}

const short = (id: string): string => id.slice(0, 8);
