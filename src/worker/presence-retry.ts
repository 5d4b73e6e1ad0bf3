// A peer the signaling server lists as present, which gossip declared dead. Gossip's word makes
// the overlay stop dialing it (a dead member is not linked to), and gossip itself tries a dead
// member again only over a link. With a third node in the room, word that the peer lives comes
// back through it; in a room of two nothing does: after one kept the other out for a PeerGuard
// ban, each declared the other dead and they stayed apart for good while the server listed both
// (docs/simulation.md, "What it found" 8). The server's presence is a second opinion: such a
// peer is introduced again after `presenceRetryMs`, doubling while gossip keeps it dead, up to
// `presenceRetryMaxMs`. The backoff starts over when gossip sees it alive; it ends when the
// server says the peer left.

/** First wait before a listed peer that gossip declared dead is tried again. */
export const presenceRetryMs = 30_000;
/** Longest wait between two such tries. */
export const presenceRetryMaxMs = 10 * 60_000;

export interface PresenceTry {
  /** Wait before the try. */
  waitMs: number;
  /** Which run of retries the try belongs to (a try of an earlier run is void). */
  run: number;
}

export class PresenceRetry {
  /** Peers gossip holds dead: the wait before their next try, and their run of retries. */
  private readonly peers = new Map<string, PresenceTry>();
  private runs = 0;

  /** Gossip declared `peer` dead: its first try, or null when a run of retries is already under way. */
  declaredDead(peer: string): PresenceTry | null {
    if (this.peers.has(peer)) return null;
    const first = { waitMs: presenceRetryMs, run: ++this.runs };
    this.peers.set(peer, first);
    return first;
  }

  /**
   * A try of `peer` is due: null when it is void (gossip saw the peer alive since, or the server
   * no longer lists it), else the next try, which comes unless this one brings the peer back.
   */
  due(peer: string, run: number, listed: boolean): PresenceTry | null {
    const current = this.peers.get(peer);
    if (current?.run !== run) return null;
    if (!listed) {
      this.peers.delete(peer);
      return null;
    }
    const next = { waitMs: Math.min(current.waitMs * 2, presenceRetryMaxMs), run };
    this.peers.set(peer, next);
    return next;
  }

  /** Gossip sees `peer` alive again, or the server says it left: no more tries. */
  forget(peer: string): void {
    this.peers.delete(peer);
  }
}
