// The legitimate load: joins at a steady rate, signal relays between pairs of one room, churn
// (leave and rejoin), and a stream of probe joins whose latency is what a newcomer waits.
// Every loop is bounded twice: by a count and by a deadline.
import { benchIdentity, candidateLikeData, connectAndJoin, joinDeadlineMs, type AddressPool, type SimClient } from './clients.ts';
import type { Identity } from '../../test/signaling/helpers.ts';
import { delay } from './servers.ts';

export interface JoinSpec {
  url: string;
  room: string;
  address: string;
}

/** Key pairs made before the clock starts, so that making them is not in the join latency. */
function identitiesFor(count: number): Identity[] {
  return Array.from({ length: count }, () => benchIdentity());
}

export interface JoinBatch {
  /** By the index of its spec; null where the join failed. */
  clients: Array<SimClient | null>;
  /** Join latency of each successful join, ms. */
  latenciesMs: number[];
  /** Why each failed join failed (timeouts count at joinDeadlineMs in the latencies too). */
  failures: string[];
}

/**
 * Starts the joins open-loop at `ratePerS` (the arrival rate does not slow down when the server
 * does, so queueing shows in the latency), with at most `maxInFlight` pending at once.
 */
export async function joinAtRate(specs: readonly JoinSpec[], ratePerS: number, maxInFlight: number): Promise<JoinBatch> {
  const batch: JoinBatch = { clients: specs.map(() => null), latenciesMs: [], failures: [] };
  const identities = identitiesFor(specs.length);
  const started = performance.now();
  const pending = new Set<Promise<void>>();
  for (let i = 0; i < specs.length; i++) {
    const due = started + (i * 1000) / ratePerS;
    const wait = due - performance.now();
    if (wait > 1) await delay(wait);
    while (pending.size >= maxInFlight) await Promise.race(pending);
    const spec = specs[i] as JoinSpec;
    const p = connectAndJoin(spec.url, spec.room, spec.address, identities[i]).then((outcome) => {
      if (outcome.ok) {
        batch.clients[i] = outcome.client;
        batch.latenciesMs.push(outcome.ms);
      } else {
        batch.failures.push(outcome.why);
        if (outcome.why === 'timeout') batch.latenciesMs.push(outcome.ms);
      }
      pending.delete(p);
    });
    pending.add(p);
  }
  await Promise.all(pending);
  return batch;
}

export interface RelayResult {
  /** Signals delivered to their receivers in the window. */
  delivered: number;
  windowS: number;
  /** Round trips (a → server → b → server → a), ms. */
  roundTripsMs: number[];
  /** Signals not answered within lostAfterMs (resent). */
  lost: number;
}

/** A sent signal not answered within this is counted lost and sent again. */
const lostAfterMs = 3_000;
/** How often the pair loops look for pairs due to send. */
const tickMs = 5;

/**
 * Closed-loop relays: in each pair, `a` signals `b`, `b` answers at once, and `a` sends the next
 * one when the answer is back but no sooner than `minIntervalMs` after the previous one, so
 * every client stays under the server's frame limit and a slow server slows the loop down
 * instead of piling up refusals.
 */
export async function relayPairs(pairs: ReadonlyArray<readonly [SimClient, SimClient]>, minIntervalMs: number, windowMs: number): Promise<RelayResult> {
  interface Loop {
    a: SimClient;
    b: SimClient;
    sentAt: number | null;
    nextAt: number;
    seq: number;
  }
  const result: RelayResult = { delivered: 0, windowS: windowMs / 1000, roundTripsMs: [], lost: 0 };
  const start = performance.now();
  const end = start + windowMs;
  const inBefore = pairs.reduce((sum, [a, b]) => sum + a.signalsIn + b.signalsIn, 0);
  const loops: Loop[] = pairs.map(([a, b]) => ({ a, b, sentAt: null, nextAt: start + Math.random() * minIntervalMs, seq: 0 }));
  for (const loop of loops) {
    loop.b.onSignal = () => {
      loop.b.signal(loop.a.id, candidateLikeData(loop.seq));
    };
    loop.a.onSignal = () => {
      const t = performance.now();
      if (loop.sentAt !== null) result.roundTripsMs.push(t - loop.sentAt);
      loop.sentAt = null;
      loop.nextAt = Math.max(t, loop.nextAt);
    };
  }
  const ticker = setInterval(() => {
    const t = performance.now();
    if (t >= end) return;
    for (const loop of loops) {
      if (loop.sentAt !== null) {
        if (t - loop.sentAt < lostAfterMs) continue;
        result.lost++;
      }
      if (t < loop.nextAt) continue;
      loop.seq++;
      if (loop.a.signal(loop.b.id, candidateLikeData(loop.seq))) {
        loop.sentAt = t;
        loop.nextAt = t + minIntervalMs;
      }
    }
  }, tickMs);
  await delay(windowMs);
  clearInterval(ticker);
  const inAfter = pairs.reduce((sum, [a, b]) => sum + a.signalsIn + b.signalsIn, 0);
  result.delivered = inAfter - inBefore;
  for (const loop of loops) {
    loop.a.onSignal = null;
    loop.b.onSignal = null;
  }
  return result;
}

export interface ChurnResult {
  rejoins: number;
  latenciesMs: number[];
  failures: string[];
  /** The churners still joined at the end (the caller closes them). */
  clients: SimClient[];
}

/**
 * Each churner leaves, rejoins the same room from the same address (a reload), stays 200–800 ms
 * and does it again, until the window ends or it has churned `maxRounds` times.
 */
export async function churn(
  churners: ReadonlyArray<{ client: SimClient; url: string; room: string }>,
  windowMs: number,
  maxRounds: number,
): Promise<ChurnResult> {
  const result: ChurnResult = { rejoins: 0, latenciesMs: [], failures: [], clients: [] };
  const end = performance.now() + windowMs;
  await Promise.all(
    churners.map(async ({ client: first, url, room }) => {
      let client: SimClient | null = first;
      for (let round = 0; round < maxRounds && performance.now() < end; round++) {
        await delay(200 + Math.random() * 600);
        if (performance.now() >= end) break;
        await client.leave();
        const outcome = await connectAndJoin(url, room, client.localAddress);
        result.rejoins++;
        if (!outcome.ok) {
          result.failures.push(outcome.why);
          if (outcome.why === 'timeout') result.latenciesMs.push(outcome.ms);
          client = null;
          break;
        }
        result.latenciesMs.push(outcome.ms);
        client = outcome.client;
      }
      if (client) result.clients.push(client);
    }),
  );
  return result;
}

export interface ProbeResult {
  latenciesMs: number[];
  failures: string[];
}

/**
 * Newcomers: a fresh address joins `room` every 1000/ratePerS ms and leaves once joined. Their
 * join latency is the figure the attacks are judged by.
 */
export async function probeJoins(urls: readonly string[], room: string, addresses: AddressPool, ratePerS: number, windowMs: number): Promise<ProbeResult> {
  // Room for every probe until its own deadline, so that a slow server shows as slow (or timed
  // out) joins in the percentiles rather than as probes never started.
  const maxInFlight = Math.ceil((ratePerS * joinDeadlineMs) / 1000) + 1;
  const result: ProbeResult = { latenciesMs: [], failures: [] };
  const start = performance.now();
  const count = Math.floor((windowMs / 1000) * ratePerS);
  const identities = identitiesFor(count);
  const pending = new Set<Promise<void>>();
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / ratePerS - performance.now();
    if (wait > 1) await delay(wait);
    if (pending.size >= maxInFlight) {
      // Cannot happen while every probe ends by its deadline; counted as failed if it does.
      result.failures.push('too many joins pending');
      continue;
    }
    const p = connectAndJoin(urls[i % urls.length] as string, room, addresses.take(), identities[i]).then(async (outcome) => {
      // A refused join is quick and would flatter the percentiles: it counts as a failure; a
      // join never answered counts in both, at the deadline.
      if (outcome.ok || outcome.why === 'timeout') result.latenciesMs.push(outcome.ms);
      if (outcome.ok) await outcome.client.leave();
      else result.failures.push(outcome.why);
      pending.delete(p);
    });
    pending.add(p);
  }
  await Promise.all(pending);
  return result;
}
