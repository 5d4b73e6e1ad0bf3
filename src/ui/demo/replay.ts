// From the nodes' traces to the flights the demo view draws. Pure (unit-tested in
// test/unit/demo-replay.test.ts).
//
// A flight is one message from one node to another: its send from the sender's trace, its
// arrival from the receiver's. Each node stamps its records with its own clock, and clocks of
// different devices differ by more than a message takes on a LAN; stretched ×200, a 30 ms skew
// would draw a prepare leaving before the pre-prepare it answers arrived. So times are laid out
// causally: each node keeps the gaps between its own records, and a node's whole timeline is
// moved later just enough that nothing arrives before it left (a Lamport clock that keeps real
// intervals). Nothing is invented: a flight missing one end (that node's trace not in yet) takes
// the typical flight time for that end.
import type { TraceRecord, TracedKind } from '../../core/pbft/trace.ts';

export interface Flight {
  kind: TracedKind;
  from: string;
  to: string;
  view: number | null;
  seq: number | null;
  /** Laid-out times (ms, real, before stretching), from 0 at the first record of the sample. */
  start: number;
  end: number;
}

/** Least gap kept between a send and its arrival when laying clocks out (ms). */
export const minFlightRealMs = 0.05;
/** Rounds of clock adjustment at most (each settles at least one node for good in practice). */
const maxLayoutRounds = 64;

const keyOf = (r: TraceRecord): string => `${r.kind}|${r.from}|${r.to}|${r.view ?? ''}|${r.seq ?? ''}|${r.client ?? ''}|${r.ts ?? ''}`;

/** Every record of the sample with sequence number `seq`: its request(s), pre-prepare, prepares, commits and replies. */
export function recordsOfSeq(traces: ReadonlyMap<string, readonly TraceRecord[]>, seq: number): TraceRecord[] {
  const requests = new Set<string>();
  const out: TraceRecord[] = [];
  for (const records of traces.values()) {
    for (const r of records) {
      if (r.seq !== seq) continue;
      if (r.kind === 'pre-prepare' || r.kind === 'prepare' || r.kind === 'commit' || r.kind === 'reply') out.push(r);
      if (r.kind === 'reply' && r.client !== undefined && r.ts !== undefined) requests.add(`${r.client}|${r.ts}`);
    }
  }
  for (const records of traces.values()) {
    for (const r of records) if (r.kind === 'request' && requests.has(`${r.client}|${r.ts}`)) out.push(r);
  }
  return out;
}

/** Every view-change and new-view record for view `view`. */
export function recordsOfViewChange(traces: ReadonlyMap<string, readonly TraceRecord[]>, view: number): TraceRecord[] {
  const out: TraceRecord[] = [];
  for (const records of traces.values()) for (const r of records) if ((r.kind === 'view-change' || r.kind === 'new-view') && r.view === view) out.push(r);
  return out;
}

/** The flights of a set of records, laid out causally, sorted by start. */
export function layOut(records: readonly TraceRecord[]): Flight[] {
  // The first send and the first arrival of each message (retransmissions are left out).
  const sends = new Map<string, TraceRecord>();
  const recvs = new Map<string, TraceRecord>();
  for (const r of records) {
    if (r.from === r.to) continue;
    const map = r.dir === 'send' ? sends : recvs;
    const key = keyOf(r);
    const known = map.get(key);
    if (!known || r.at < known.at) map.set(key, r);
  }
  const offset = new Map<string, number>();
  const off = (node: string): number => offset.get(node) ?? 0;
  for (let round = 0; round < maxLayoutRounds; round++) {
    let moved = false;
    for (const [key, send] of sends) {
      const recv = recvs.get(key);
      if (!recv) continue;
      const least = send.at + off(send.from) + minFlightRealMs;
      if (recv.at + off(recv.to) < least) {
        offset.set(recv.to, least - recv.at);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const paired: Array<{ key: string; send?: TraceRecord; recv?: TraceRecord }> = [];
  for (const [key, send] of sends) paired.push({ key, send, ...(recvs.has(key) ? { recv: recvs.get(key) } : {}) });
  for (const [key, recv] of recvs) if (!sends.has(key)) paired.push({ key, recv });
  const durations = paired
    .filter((p) => p.send && p.recv)
    .map((p) => (p.recv as TraceRecord).at + off(p.recv!.to) - (p.send as TraceRecord).at - off(p.send!.from));
  const typical = median(durations) ?? 1;
  const flights: Flight[] = paired.map(({ send, recv }) => {
    const r = (send ?? recv) as TraceRecord;
    const start = send ? send.at + off(send.from) : (recv as TraceRecord).at + off(r.to) - typical;
    const end = recv ? recv.at + off(recv.to) : start + typical;
    return { kind: r.kind, from: r.from, to: r.to, view: r.view, seq: r.seq, start, end };
  });
  const first = Math.min(...flights.map((f) => f.start));
  for (const f of flights) {
    f.start -= first;
    f.end -= first;
  }
  return flights.sort((a, b) => a.start - b.start || kindRank(a.kind) - kindRank(b.kind));
}

const kindOrder: readonly TracedKind[] = ['request', 'pre-prepare', 'prepare', 'commit', 'reply', 'checkpoint', 'view-change', 'new-view'];
const kindRank = (kind: TracedKind): number => kindOrder.indexOf(kind);

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Slow-motion factors a person can pick; 'auto' fits a sample to about `autoSpanMs` on screen. */
export const slowMotionFactors = [50, 200, 1_000, 5_000] as const;
/** A sample drawn with the automatic factor lasts about this long on screen. */
export const autoSpanMs = 7_000;
/** A flight stays on screen at least this long, however short it really was. */
export const minFlightScreenMs = 450;

/** The factor that stretches flights spanning `realSpanMs` to about autoSpanMs (50× to 20,000×). */
export function autoFactor(realSpanMs: number): number {
  if (!(realSpanMs > 0)) return 1_000;
  const raw = autoSpanMs / realSpanMs;
  return Math.round(Math.min(20_000, Math.max(50, raw)));
}

export interface ScreenFlight extends Flight {
  /** On-screen times (ms from the start of the replay). */
  showAt: number;
  arriveAt: number;
}

/** Stretches flights by `factor`; each lasts at least minFlightScreenMs on screen. */
export function stretch(flights: readonly Flight[], factor: number): ScreenFlight[] {
  return flights.map((f) => {
    const showAt = f.start * factor;
    return { ...f, showAt, arriveAt: Math.max(showAt + minFlightScreenMs, f.end * factor) };
  });
}
