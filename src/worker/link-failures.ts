// Why links to a peer fail, and when to stop trying. Peers on different networks link only
// if ICE finds a path: server-reflexive candidates from STUN through NATs that keep one outside
// port per socket, or a TURN relay through anything else. When no candidate pair works, more
// attempts cost RTCPeerConnections (Chrome allows a tab about 500 in its life) and change
// nothing, so after `maxFailedLinkAttempts` in a row the peer is settled as unreachable, and
// says why in words a person can act on; its own link requests and offers then go unanswered
// (there they count as failed attempts, so it settles too). A new introduction of the peer (it
// joined again, or this node did) or different ICE servers give it a fresh start, and so does
// time: a settled peer gets one more attempt after `settledRetryMs` (doubling with each attempt
// that fails again, up to `settledRetryMaxMs`). Without that, two nodes that settled each other
// during a passing cause (one kept the other out for flooding, a network that came back) would
// never link again while both stay in the room. An offer or a link request from the peer is
// taken after half the period, so the first of the two to try finds the other listening.
//
// The candidate types come from the signals the two ends exchange (each link trickles each
// candidate line, "… typ srflx …"), so a tab and a Node peer diagnose the same way.

/** Failed attempts in a row after which a peer is settled as unreachable (bounded retries). */
export const maxFailedLinkAttempts = 3;
/** Peers whose failures are remembered; the oldest record goes first when full. */
export const maxLinkFailureRecords = 64;
/** A settled peer gets another attempt after this long (then twice as long after each new failure). */
export const settledRetryMs = 5 * 60_000;
export const settledRetryMaxMs = 40 * 60_000;

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';
const candidateTypes: readonly CandidateType[] = ['host', 'srflx', 'prflx', 'relay'];

/**
 * What the failures say: 'no-ice-servers' (only local addresses on both sides), 'needs-turn'
 * (server-reflexive candidates were tried and failed: a NAT maps or filters per destination),
 * 'turn-unavailable' (a TURN server is configured but gave this node no relay address),
 * 'relay-failed' (a TURN relay was offered and still nothing worked), 'no-candidates' (the
 * peer's candidates never arrived), 'unknown' (no attempt got far enough to tell).
 */
export type LinkDiagnosis = 'no-ice-servers' | 'needs-turn' | 'turn-unavailable' | 'relay-failed' | 'no-candidates' | 'unknown';

export interface LinkFailureView {
  peer: string;
  /** Failed attempts in a row (reset when a link comes up). */
  attempts: number;
  /** 'retrying': another attempt will come (with backoff); 'unreachable': settled, no more attempts until something changes. */
  state: 'retrying' | 'unreachable';
  /** What ended the last attempt (the host's error code, or 'setup timed out'). */
  reason: string;
  /** Candidate types this node offered, and the peer offered, in the last attempt. */
  local: CandidateType[];
  remote: CandidateType[];
  diagnosis: LinkDiagnosis;
  /** True when only a TURN relay can link the two (the page says so). */
  needsTurn: boolean;
  /** What it means and what to do, in plain words. */
  advice: string;
  /** Wall-clock ms of the last failure. */
  at: number;
}

/** The candidate types named in one signal (a trickled candidate, or an SDP with candidate lines). */
export function candidateTypesIn(signal: Record<string, unknown>): CandidateType[] {
  const texts: string[] = [];
  const candidate = signal['candidate'];
  if (typeof candidate === 'string') texts.push(candidate);
  else if (candidate && typeof candidate === 'object' && typeof (candidate as { candidate?: unknown }).candidate === 'string')
    texts.push((candidate as { candidate: string }).candidate);
  if (typeof signal['sdp'] === 'string') texts.push(signal['sdp']);
  const found = new Set<CandidateType>();
  for (const text of texts) for (const match of text.matchAll(/\btyp (host|srflx|prflx|relay)\b/g)) found.add(match[1] as CandidateType);
  return candidateTypes.filter((t) => found.has(t));
}

/** The diagnosis of a failed attempt from the candidate types each end offered, and whether this node has a TURN server configured. */
export function diagnose(
  local: readonly CandidateType[],
  remote: readonly CandidateType[],
  turnConfigured: boolean,
): { diagnosis: LinkDiagnosis; needsTurn: boolean; advice: string } {
  if (remote.length === 0 && local.length === 0)
    return { diagnosis: 'unknown', needsTurn: false, advice: 'The attempt ended before either side offered an address; it will be tried again.' };
  if (remote.length === 0)
    return {
      diagnosis: 'no-candidates',
      needsTurn: false,
      advice: 'No address of the peer arrived: the signaling server or the mesh did not carry its answer.',
    };
  if (local.includes('relay') || remote.includes('relay')) {
    return {
      diagnosis: 'relay-failed',
      needsTurn: false,
      advice: 'Even the TURN relay did not carry the link: check that the TURN server is reachable from both networks and accepts the credentials.',
    };
  }
  if (turnConfigured) {
    return {
      diagnosis: 'turn-unavailable',
      needsTurn: true,
      advice:
        'A TURN server is configured, but it gave this node no relay address: check that it is reachable from this network and accepts the credentials (its log says why it refused).',
    };
  }
  const reflexive = (types: readonly CandidateType[]) => types.includes('srflx') || types.includes('prflx');
  if (!reflexive(local) && !reflexive(remote)) {
    return {
      diagnosis: 'no-ice-servers',
      needsTurn: true,
      advice:
        "Only local addresses on both sides: no STUN or TURN server is configured, so peers on different networks cannot find each other. A TURN server is needed (the server's --turn-urls or --ice-servers).",
    };
  }
  return {
    diagnosis: 'needs-turn',
    needsTurn: true,
    advice:
      "Addresses from STUN were tried and failed: a NAT between the two gives each destination its own port (symmetric NAT) or filters strictly. A TURN server is needed (the server's --turn-urls or --ice-servers).",
  };
}

interface Attempt {
  linkId: string;
  local: Set<CandidateType>;
  remote: Set<CandidateType>;
}

interface Record_ {
  view: LinkFailureView;
  /** Monotonic ms of the last failure (the view's `at` is wall-clock, for people). */
  sinceMs: number;
  /** The ICE servers in force when the peer was settled as unreachable (different ones: try again). */
  iceKey: string;
}

/** Per-peer record of failed attempts: candidate types seen, the diagnosis, and when to give up. */
export class LinkFailures {
  private readonly attempts = new Map<string, Attempt>();
  private readonly records = new Map<string, Record_>();

  /** A new attempt to `peer` starts (its candidate types are collected from here on). */
  started(peer: string, linkId: string): void {
    this.attempts.set(peer, { linkId, local: new Set(), remote: new Set() });
  }

  /** A signal of the attempt `linkId` went out (local) or came in (remote). */
  signal(peer: string, linkId: string, side: 'local' | 'remote', signal: Record<string, unknown>): void {
    const attempt = this.attempts.get(peer);
    if (!attempt || attempt.linkId !== linkId) return;
    for (const type of candidateTypesIn(signal)) attempt[side].add(type);
  }

  /** The link came up: the peer's failures are forgotten. */
  succeeded(peer: string): void {
    this.attempts.delete(peer);
    this.records.delete(peer);
  }

  /**
   * The attempt failed; returns the peer's record, settled as unreachable once there were enough.
   * An attempt that never got as far as a connection (a link request nobody answered) keeps
   * what the last real attempt found out.
   */
  failed(peer: string, reason: string, nowMs: number, iceKey: string, turnConfigured: boolean, monotonicMs = nowMs): LinkFailureView {
    const attempt = this.attempts.get(peer);
    this.attempts.delete(peer);
    const previous = this.records.get(peer)?.view;
    const attemptsSoFar = (previous?.attempts ?? 0) + 1;
    const found =
      attempt || !previous
        ? (() => {
            const local = attempt ? candidateTypes.filter((t) => attempt.local.has(t)) : [];
            const remote = attempt ? candidateTypes.filter((t) => attempt.remote.has(t)) : [];
            return { local, remote, ...diagnose(local, remote, turnConfigured) };
          })()
        : { local: previous.local, remote: previous.remote, diagnosis: previous.diagnosis, needsTurn: previous.needsTurn, advice: previous.advice };
    const view: LinkFailureView = {
      peer,
      attempts: attemptsSoFar,
      state: attemptsSoFar >= maxFailedLinkAttempts ? 'unreachable' : 'retrying',
      reason,
      ...found,
      at: nowMs,
    };
    this.records.delete(peer);
    this.records.set(peer, { view, iceKey, sinceMs: monotonicMs });
    if (this.records.size > maxLinkFailureRecords) this.records.delete(this.records.keys().next().value as string);
    return view;
  }

  /**
   * True while no more attempts should be made to `peer`. Different ICE servers than when it was
   * settled lift that (the operator configured a TURN server, for one), and so does the retry
   * period; `asked`: the peer itself offers or asks for a link, which is taken after half of it.
   */
  unreachable(peer: string, iceKey: string, monotonicMs: number, asked = false): boolean {
    const record = this.records.get(peer);
    if (!record || record.view.state !== 'unreachable') return false;
    if (record.iceKey !== iceKey) {
      this.records.delete(peer);
      return false;
    }
    const period = Math.min(settledRetryMaxMs, settledRetryMs * 2 ** (record.view.attempts - maxFailedLinkAttempts));
    return monotonicMs - record.sinceMs < (asked ? period / 2 : period);
  }

  /** A fresh start for `peer` (it was introduced again). */
  forgive(peer: string): void {
    this.records.delete(peer);
  }

  list(): LinkFailureView[] {
    return [...this.records.values()].map((r) => ({ ...r.view, local: [...r.view.local], remote: [...r.view.remote] }));
  }
}

/** Whether any of the servers is a TURN server. */
export function hasTurnServer(servers: ReadonlyArray<{ urls: string | string[] }>): boolean {
  return servers.some((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]).some((url) => /^turns?:/.test(url)));
}

/** What identifies a set of ICE servers for `unreachable` (their URLs; credentials aside, so renewed short-lived ones are the same). */
export function iceServersKey(servers: ReadonlyArray<{ urls: string | string[] }>): string {
  return servers
    .flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]))
    .sort()
    .join(' ');
}
