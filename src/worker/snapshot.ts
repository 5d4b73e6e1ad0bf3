// What a node shows of itself: posted by the runtime to the page, held by the UI, returned by
// window.tabmesh.snapshot(). Plain JSON, immutable once posted. Names are public API: extend,
// never rename (docs/reference.md documents every field).
import type { SignalingStatus } from '../net/signaling-client.ts';
import type { GossipMetrics, MemberView, MemoryEntryView } from '../core/gossip/index.ts';
import type { TopologySnapshot } from '../core/graph/index.ts';
import type { RouteCounters } from '../core/route/router.ts';
import type { ConsensusView } from './services/pbft-snapshot.ts';
import type { ComputeSnapshot, JobSnapshot } from './services/steal-snapshot.ts';
import type { HealthView } from './services/health.ts';
import type { MeshSettings } from './services/settings-schema.ts';
import type { StatusRecord } from './services/status-record.ts';
import type { SetAsideView } from '../store/set-aside.ts';
import type { RecoveryView } from '../worker-supervisor.ts';
import type { LinkFailureView } from './link-failures.ts';
import type { ChannelView } from '../core/channel/index.ts';
import type { MemberTableView } from './services/member-table.ts';

export interface LinkView {
  peer: string;
  /** Last measured round-trip time over the data channel; null until the first pong. */
  rttMs: number | null;
  initiator: boolean;
  /** Milliseconds since the link came up. */
  upForMs: number;
  /**
   * How long the link took to set up: from this end's RTCPeerConnection (the offer made, or
   * received) to the open data channel — ICE, DTLS and SCTP. Tens of ms on one network, more
   * through STUN or a TURN relay (docs/nat-lab.md has figures). Absent from older nodes.
   */
  setupMs?: number | null;
}

export interface MessageView {
  /** Increases by one per message this node received; a stable key. */
  seq: number;
  from: string;
  text: string;
  /** Receiver's wall-clock time, ms since the epoch. */
  at: number;
}

/** What the runtime itself reports; services add their parts (see NodeSnapshot). */
export interface BaseSnapshot {
  id: string;
  room: string;
  slot: number;
  /** How this node's identity was obtained at start: loaded from IndexedDB, created, or replaced. */
  identity: string;
  signaling: SignalingStatus;
  signalingDetail: string;
  /** True when this node joined with a room password (its signals are sealed; src/net/sealed-signal.ts). */
  privateRoom: boolean;
  /** Why the server refused this node for good (wrong or missing room password, …), until it joins again. */
  signalingRefusal: { code: string; message: string } | null;
  /**
   * What the server told this node about its room since it joined, not a refusal: a private
   * room of the same name exists ('private-room-exists'), or nobody uses this password
   * ('password-mismatch'). Null when there is nothing to tell.
   */
  signalingNotice: { code: string; message: string } | null;
  /** Direct links that are up. */
  links: LinkView[];
  /** Link attempts under way: peer ids. */
  connecting: string[];
  /**
   * Peers whose last link attempts failed (src/worker/link-failures.ts): how many in a row, what
   * the candidates say (needsTurn: only a TURN relay can link the two), advice in plain words,
   * and whether more attempts will come ('retrying') or the node stopped trying ('unreachable')
   * until the peer is introduced again or the ICE servers change.
   */
  linkFailures: LinkFailureView[];
  /** Every node this one has been introduced to and not seen leave. */
  knownPeers: string[];
  /** The latest direct messages received (newest last). */
  messages: MessageView[];
  /** Input refused at a boundary, counted by reason. */
  rejected: Record<string, number>;
  /** Peers cut off for flooding or garbage (src/worker/peer-guard.ts), for how much longer, and why. */
  keptOut: Array<{ peer: string; forMs: number; reason: string }>;
  startedAt: number;
  /**
   * Stored records that did not check out and were moved to quarantine (src/store/set-aside.ts):
   * how many at this start, and the records kept (newest first), each with why.
   */
  setAside: { atStart: number; records: SetAsideView[] };
  /** Times this node found it had not run for over 5 s (a frozen tab, a sleeping machine): when, and for how long. */
  slept: { count: number; lastAt: number | null; lastMs: number };
  /** Frames received over direct links so far, by `protocol/type` (a bounded table: the rest count as `other`). */
  framesIn?: Record<string, number>;
  /** Snapshots the worker posted to the page, and those it held back as drift only (snapshot-pacer.ts). */
  snapshotsPaced?: { posted: number; held: number };
}

/** A tab's full snapshot: the runtime's part and every service's part. */
export interface NodeSnapshot extends BaseSnapshot {
  // ── from the gossip service ──
  /** Every member this node knows of, itself included: status 'alive' | 'suspect' | 'dead' | 'left'. */
  members: MemberView[];
  /**
   * Whether `members` is the whole room or, in a room larger than gossip's viewSize, a random
   * sample of it that rotates (members leaving the sample have not left the room).
   */
  memberTable: MemberTableView;
  /** The replicated memory: key → JSON value. */
  memory: Record<string, unknown>;
  /** The same, with who wrote each key and when (hybrid logical clock). */
  memoryEntries: MemoryEntryView[];
  /** The mesh as this node knows it (from link-state adverts) and its graph metrics. */
  topology: TopologySnapshot<string>;
  /** Overlay state: link bounds in force, link attempts under way, counters. */
  overlay: { config: { minLinks: number; maxLinks: number }; pending: string[]; knownPeers: number; advertSeq: number; counters: Record<string, unknown> };
  /** Mesh routing counters: originated, forwarded, delivered, and drops by reason. */
  routing: RouteCounters;
  /** Gossip metrics (messages, probes, suspicions, convergence) and refused gossip input. */
  gossip: GossipMetrics & { rejected: Record<string, number> };
  // ── from the consensus service ──
  /**
   * pBFT: genesis, view, primary, replicas, n/f/quorum, the committed log (bounded tail), phases
   * of the newest sequence numbers replica by replica, latency, throughput, view changes,
   * Byzantine mode, refusals and why it halted (ConsensusView in services/pbft-snapshot.ts).
   */
  consensus: ConsensusView;
  // ── from the stealing service ──
  /** This node's jobs and other nodes' jobs it computes tasks of (status, progress, shares per node). */
  jobs: JobSnapshot[];
  /** This node's scheduler and compute pool: queues by priority, workers, utilisation, steals, refusals. */
  compute: ComputeSnapshot;
  // ── from the health and settings services ──
  /** Overall coordination score in [0, 1] and each component's share (docs/reference.md: Health score). */
  health: HealthView;
  /** Live settings in force (fanout, gossipCycleMs, minLinks, maxLinks, batchSize, byzantine). */
  settings: MeshSettings;
  // ── from the app channel service ──
  /**
   * App channels: messages sent and received, retransmits, duplicates, failed sends by why, bad
   * input dropped by reason, messages the app's validator refused by channel, what is in flight,
   * and the origins throttled now (ChannelView in src/core/channel/types.ts).
   */
  channels: ChannelView;
  // ── from the status record service ──
  /** The record last written to storage under `swarm/mesh/topology` (null before the first). */
  statusRecord: StatusRecord | null;
  // ── from the page ──
  /** Restarts of this tab's protocol worker by the page's supervisor (src/worker-supervisor.ts). */
  recovery: RecoveryView;
}
