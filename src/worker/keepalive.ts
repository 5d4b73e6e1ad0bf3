// Which direct links to ping, and when to look again. A ping does two jobs: it keeps the far
// end hearing from us (it declares a link dead after linkSilenceLimitMs without a frame), and
// its pong measures the round trip. Pinging every link every second did both, at four frames a
// second per link even while gossip, consensus and adverts were already flowing on it, and each
// frame crosses the worker, the page and WebRTC twice. Any frame we send proves us alive as well
// as a ping does, and the pong we send back for the far end's ping is such a frame. So a link is
// pinged only when we have sent nothing on it for keepaliveIdleMs (the far end still hears from
// us about that often, as before), or when its round trip has not been measured for
// rttProbeIntervalMs. On an idle link one end pings each second and the other's pongs keep it
// heard (keepaliveDeferMs); where other frames flow, only the round-trip probes are left.

/**
 * A link this node has sent nothing on for this long gets a ping. It bounds the gap between our
 * frames as the fixed 1 s ping did: the far end's silence limit (4 s) keeps its margin.
 */
export const keepaliveIdleMs = 1_000;
/**
 * Each link's round trip is measured at least this often (links.ts rttMs, the overlay's adverts).
 * Both ends probe, so a link carries two probes and two pongs per period: at 4 s that was a
 * third of an idle 4-tab room's frames (bench:idle, docs/benchmarks.md "Idle cost, profiled").
 * At 10 s a round trip shown or advertised is at most 10 s old; a link that dies is still found
 * by its silence (linkSilenceLimitMs), which the keepalive pings below bound, not by probes.
 */
export const rttProbeIntervalMs = 10_000;
/**
 * Links due within this long after the earliest are pinged in the same wake-up, so one wake
 * serves them all (a ping earlier than due only shortens the gap the far end sees).
 */
export const keepaliveCoalesceMs = 250;

/**
 * While the far end pings us, our pongs keep it hearing from us, and we wait this much longer
 * than keepaliveIdleMs before pinging ourselves. Without it both ends, on the same period, ping
 * each other: our timer comes due a moment before its next ping (and our pong) would have.
 */
export const keepaliveDeferMs = 250;

export interface KeepaliveLink<P> {
  peer: P;
  /** When this node last handed a frame for this link to the transport (any frame). */
  lastSentMs: number;
  /** When this node last sent a ping on this link (-Infinity: never). */
  lastPingMs: number;
  /** When a ping from the far end last arrived on this link (-Infinity: never). */
  lastPingHeardMs: number;
}

export interface KeepalivePlan<P> {
  /** Links to ping now. */
  ping: P[];
  /** When to look again (Infinity: no link is up); assumes the pings above were sent now. */
  nextAtMs: number;
}

/** The links to ping at `now`, and when the next one falls due. */
export function planKeepalive<P>(links: Iterable<KeepaliveLink<P>>, now: number): KeepalivePlan<P> {
  const ping: P[] = [];
  let nextAtMs = Infinity;
  for (const link of links) {
    const idleMs = now - link.lastPingHeardMs <= keepaliveIdleMs + keepaliveDeferMs ? keepaliveIdleMs + keepaliveDeferMs : keepaliveIdleMs;
    const dueAt = Math.min(link.lastSentMs + idleMs, link.lastPingMs + rttProbeIntervalMs);
    if (dueAt <= now + keepaliveCoalesceMs) {
      ping.push(link.peer);
      // Pinged now: both clocks restart, and the idle one is the sooner.
      nextAtMs = Math.min(nextAtMs, now + keepaliveIdleMs);
    } else nextAtMs = Math.min(nextAtMs, dueAt);
  }
  return { ping, nextAtMs };
}
