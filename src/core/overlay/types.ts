// The overlay core's vocabulary: what a runtime feeds it, what it asks the runtime to do, what
// it counts, and what it offers the router. See overlay.ts for how they are used.
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import type { Graph } from '../graph/graph.ts';
import type { OverlayConfig } from './config.ts';
import type { OverlayMsg, UnlinkReason } from './messages.ts';
import type { CoreEffect, SignedInput } from '../effects.ts';

export type OverlayInput =
  | { type: 'tick' }
  /** The transport has an open link to `peer` (inbound or one we asked for). */
  | { type: 'link-up'; peer: NodeId }
  | { type: 'link-down'; peer: NodeId; reason?: string }
  /** A `connect` we asked for could not be made (otherwise it times out after connectTimeoutMs). */
  | { type: 'connect-failed'; peer: NodeId; reason?: string }
  /** A round-trip time measured on a link (the link protocol's ping/pong). */
  | { type: 'link-rtt'; peer: NodeId; rttMs: number }
  /** Peers heard of: the signaling server's join sample and announcements, or gossip's `alive` for a peer marked departed. */
  | { type: 'peers-learnt'; peers: readonly NodeId[] }
  /** A peer left for good (signaling peer-left, or a failure detector's verdict). */
  | { type: 'peer-left'; peer: NodeId }
  /**
   * An overlay frame from a linked neighbour. `signer` is the node whose signature over
   * advertSigningText() the runtime verified for an advert (null if it did not verify);
   * `sizeBytes` is the frame's size on the wire when known.
   */
  | { type: 'message'; from: NodeId; msg: unknown; signer?: NodeId | null; sizeBytes?: number }
  /** The signature the runtime made for a `sign` effect (its id is the advert's seq). */
  | SignedInput
  /** Live settings change; refused (with a `config-refused` effect) if invalid. */
  | { type: 'config'; config: Partial<OverlayConfig> };

/** The overlay's own effects: everything else is the shared vocabulary (src/core/effects.ts). */
export type OverlayEvent =
  | { type: 'connect'; peer: NodeId; initiator: boolean }
  | { type: 'disconnect'; peer: NodeId; reason: UnlinkReason }
  | { type: 'config-refused'; reason: string };

/** Sends, and a `sign` of this node's advert (id: its seq) answered with `signed`. */
export type OverlayEffect = CoreEffect<OverlayMsg, OverlayEvent>;

/** Why an input was dropped; every one is counted, none is applied. */
export type OverlayDropReason =
  | 'malformed'
  | 'oversize'
  | 'unsigned'
  | 'signer-mismatch'
  | 'impossible-seq'
  | 'bad-links'
  | 'not-linked'
  | 'rate-limited'
  | 'expired'
  | 'db-full'
  | 'bad-input'
  | 'bad-config'
  | 'stale-signature';

/** Inputs that were valid but carried nothing new. */
export type OverlayIgnoreReason = 'duplicate' | 'stale' | 'duplicate-link-up';

export interface OverlayCounters {
  dropped: Record<OverlayDropReason, number>;
  ignored: Record<OverlayIgnoreReason, number>;
  sent: Record<OverlayMsg['type'], number>;
  received: number;
  connectsRequested: number;
  connectsFailed: number;
  linksPruned: number;
  linksRefused: number;
  floodersDisconnected: number;
  advertsOriginated: number;
}

export interface OverlaySnapshot {
  self: NodeId;
  config: OverlayConfig;
  links: Array<{ peer: NodeId; upAt: Millis; rttMs: number | null }>;
  pending: NodeId[];
  knownPeers: number;
  lsdbOrigins: number;
  advertSeq: number;
  counters: OverlayCounters;
}

/** What the router needs from the overlay (src/core/route/router.ts). */
export interface RouteTopology {
  /** Changes whenever `graph` or `links` may have changed. */
  readonly key: string;
  /** Symmetric adjacency of the known mesh (two-way checked). */
  readonly graph: Graph<NodeId>;
  /** This node's open links right now (first-hand, may be ahead of `graph`). */
  readonly links: ReadonlySet<NodeId>;
  /** Advertised round-trip time of the link a–b, if known. */
  rttMs(a: NodeId, b: NodeId): number | undefined;
}

export interface OverlayOptions {
  self: NodeId;
  rng: Rng;
  config?: Partial<OverlayConfig>;
  now?: Millis;
}

export function emptyCounters(): OverlayCounters {
  return {
    dropped: {
      malformed: 0,
      oversize: 0,
      unsigned: 0,
      'signer-mismatch': 0,
      'impossible-seq': 0,
      'bad-links': 0,
      'not-linked': 0,
      'rate-limited': 0,
      expired: 0,
      'db-full': 0,
      'bad-input': 0,
      'bad-config': 0,
      'stale-signature': 0,
    },
    ignored: { duplicate: 0, stale: 0, 'duplicate-link-up': 0 },
    sent: { advert: 0, digest: 0, request: 0, unlink: 0 },
    received: 0,
    connectsRequested: 0,
    connectsFailed: 0,
    linksPruned: 0,
    linksRefused: 0,
    floodersDisconnected: 0,
    advertsOriginated: 0,
  };
}

/** Queues an overlay frame for a neighbour, counting it by type. */
export function pushSend(out: OverlayEffect[], counters: OverlayCounters, to: NodeId, msg: OverlayMsg): void {
  counters.sent[msg.type]++;
  out.push({ type: 'send', to, msg });
}
