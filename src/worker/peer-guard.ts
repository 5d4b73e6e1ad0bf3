// Abuse limits on the mesh, per directly linked peer, applied to every frame before it is
// decoded: a rate limit on frames and on bytes, and a budget for garbage (frames that do not
// decode). A peer over its rate is throttled (frames dropped and counted); one that keeps
// flooding, or keeps sending garbage, is disconnected and kept out — no link to or from it —
// for `peerBanMs`. The buckets are the overlay's throttle (src/core/overlay/throttle.ts),
// reused; this file only decides what to count and when to cut a peer off.
import type { NodeId } from '../core/types.ts';
import { maxFrameBytes } from '../core/envelope.ts';
import { createThrottle, type Throttle, type ThrottleLimits } from '../core/overlay/throttle.ts';

/**
 * Frames per second a peer may send. Far above what the protocols need (pings 1/s, gossip a
 * few per cycle, a pBFT round a handful per proposal) so a busy honest peer is never touched.
 * 500 refusals within 5 s marks it as flooding.
 */
export const peerFrameLimits: ThrottleLimits = { burstMsgs: 2_000, ratePerS: 1_000, floodDropsPerWindow: 500, windowMs: 5_000 };
/** Bytes are counted in units of this many bytes (a frame costs at least one unit). */
export const byteUnitBytes = 4_096;
/**
 * Bytes per second a peer may send, in units of `byteUnitBytes`: 8 MiB at once, 4 MiB/s
 * sustained. 256 refusals within 5 s marks it as flooding.
 */
export const peerByteLimits: ThrottleLimits = { burstMsgs: 2_048, ratePerS: 1_024, floodDropsPerWindow: 256, windowMs: 5_000 };
/** Frames that fail to decode a peer may send: 20 at once, then one a second; beyond, it is cut off. */
export const peerGarbageLimits: ThrottleLimits = { burstMsgs: 20, ratePerS: 1, floodDropsPerWindow: 1, windowMs: 10_000 };
/** How long a cut-off peer is kept out. */
export const peerBanMs = 60_000;
/** Peers with counters kept; the least recently heard goes first when full (it starts afresh). */
export const maxGuardedPeers = 512;
/** Peers kept out at once; when full, the ban that ends soonest is lifted early. */
export const maxKeptOutPeers = 1_024;

export interface PeerGuardLimits {
  frames: ThrottleLimits;
  bytes: ThrottleLimits;
  garbage: ThrottleLimits;
  banMs: number;
  maxPeers: number;
  maxKeptOut: number;
}

export const defaultPeerGuardLimits: PeerGuardLimits = {
  frames: peerFrameLimits,
  bytes: peerByteLimits,
  garbage: peerGarbageLimits,
  banMs: peerBanMs,
  maxPeers: maxGuardedPeers,
  maxKeptOut: maxKeptOutPeers,
};

/** What to do with a frame: take it, drop it (counted), or drop it and cut the peer off. */
export type GuardVerdict = { kind: 'admit' } | { kind: 'drop'; reason: string } | { kind: 'cut-off'; reason: string };

export interface KeptOutPeer {
  peer: NodeId;
  untilMs: number;
  reason: string;
}

export interface PeerGuardStats {
  framesDropped: number;
  garbageFrames: number;
  cutOffs: number;
  keptOut: KeptOutPeer[];
}

interface PeerState {
  frames: Throttle;
  bytes: Throttle;
  garbage: Throttle;
}

export class PeerGuard {
  private readonly peers = new Map<NodeId, PeerState>();
  private readonly keptOut = new Map<NodeId, KeptOutPeer>();
  private framesDropped = 0;
  private garbageFrames = 0;
  private cutOffs = 0;

  constructor(
    private readonly now: () => number,
    private readonly limits: PeerGuardLimits = defaultPeerGuardLimits,
  ) {}

  /** Called for every frame from `peer`, before decoding it. */
  frame(peer: NodeId, byteLength: number): GuardVerdict {
    const now = this.now();
    if (this.isKeptOut(peer)) {
      this.framesDropped++;
      return { kind: 'drop', reason: 'frame from a peer that is kept out' };
    }
    const state = this.stateOf(peer, now);
    if (byteLength > maxFrameBytes) return this.garbage(peer, `frame of ${byteLength} bytes exceeds ${maxFrameBytes}`);
    if (!state.frames.admit(now)) return this.refuse(peer, state.frames, 'frames');
    const units = Math.max(1, Math.ceil(byteLength / byteUnitBytes));
    for (let i = 0; i < units; i++) {
      if (!state.bytes.admit(now)) return this.refuse(peer, state.bytes, 'bytes');
    }
    return { kind: 'admit' };
  }

  /** Called when a frame from `peer` turned out to be garbage (did not decode, or was refused as malformed). */
  garbage(peer: NodeId, why: string): GuardVerdict {
    const now = this.now();
    this.garbageFrames++;
    if (this.isKeptOut(peer)) return { kind: 'drop', reason: why };
    const state = this.stateOf(peer, now);
    if (state.garbage.admit(now)) return { kind: 'drop', reason: why };
    return this.cutOff(peer, now, `kept out for sending garbage (last: ${why})`);
  }

  /** True while `peer` is kept out: no frames taken, no link made to or accepted from it. */
  isKeptOut(peer: NodeId): boolean {
    const entry = this.keptOut.get(peer);
    if (!entry) return false;
    if (this.now() < entry.untilMs) return true;
    this.keptOut.delete(peer);
    return false;
  }

  stats(): PeerGuardStats {
    const now = this.now();
    for (const [peer, entry] of this.keptOut) if (now >= entry.untilMs) this.keptOut.delete(peer);
    return {
      framesDropped: this.framesDropped,
      garbageFrames: this.garbageFrames,
      cutOffs: this.cutOffs,
      keptOut: [...this.keptOut.values()].map((e) => ({ ...e })),
    };
  }

  private refuse(peer: NodeId, throttle: Throttle, what: 'frames' | 'bytes'): GuardVerdict {
    this.framesDropped++;
    if (throttle.flooding()) return this.cutOff(peer, this.now(), `kept out for flooding (${what} over the limit)`);
    return { kind: 'drop', reason: `peer over its ${what} rate limit` };
  }

  private cutOff(peer: NodeId, now: number, reason: string): GuardVerdict {
    this.cutOffs++;
    this.peers.delete(peer); // counted afresh when it may come back
    this.keptOut.delete(peer);
    if (this.keptOut.size >= this.limits.maxKeptOut) {
      let soonest: KeptOutPeer | undefined;
      for (const entry of this.keptOut.values()) if (!soonest || entry.untilMs < soonest.untilMs) soonest = entry;
      if (soonest) this.keptOut.delete(soonest.peer);
    }
    this.keptOut.set(peer, { peer, untilMs: now + this.limits.banMs, reason });
    return { kind: 'cut-off', reason };
  }

  private stateOf(peer: NodeId, now: number): PeerState {
    let state = this.peers.get(peer);
    if (state) {
      // Map order is insertion order: re-inserting keeps the most recently heard last.
      this.peers.delete(peer);
      this.peers.set(peer, state);
      return state;
    }
    if (this.peers.size >= this.limits.maxPeers) {
      const oldest = this.peers.keys().next().value;
      if (oldest !== undefined) this.peers.delete(oldest);
    }
    state = {
      frames: createThrottle(this.limits.frames, now),
      bytes: createThrottle(this.limits.bytes, now),
      garbage: createThrottle(this.limits.garbage, now),
    };
    this.peers.set(peer, state);
    return state;
  }
}
