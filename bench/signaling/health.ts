// What the servers counted (their /healthz) and what they cost (/proc), summed over the
// processes of a run and taken as the difference between two moments.
import type { SignalingStats } from '../../signaling/hub.ts';
import { sampleProc } from './servers.ts';

/** The counters of /healthz that say how the server defended itself. */
export const defenceCounters = [
  'closedForFlooding',
  'closedSlowReader',
  'deadSocketsDropped',
  'framesDroppedSlowReader',
  'unsolicitedPongs',
  'closedForNoJoin',
  'internalErrors',
] as const;
type DefenceCounter = (typeof defenceCounters)[number];

export interface HealthDelta {
  /** Refusals by error code (only codes that moved). */
  refusals: Record<string, number>;
  refusalsTotal: number;
  counters: Record<DefenceCounter, number>;
  relayedSignals: number;
  announcementFrames: number;
}

export function healthDelta(before: readonly SignalingStats[], after: readonly SignalingStats[]): HealthDelta {
  const refusals: Record<string, number> = {};
  const sum = (stats: readonly SignalingStats[], pick: (s: SignalingStats) => number): number => stats.reduce((total, s) => total + pick(s), 0);
  const codes = new Set(after.flatMap((s) => Object.keys(s.refusals)));
  for (const code of codes) {
    const moved =
      sum(after, (s) => s.refusals[code as keyof SignalingStats['refusals']] ?? 0) -
      sum(before, (s) => s.refusals[code as keyof SignalingStats['refusals']] ?? 0);
    if (moved !== 0) refusals[code] = moved;
  }
  const counters = Object.fromEntries(defenceCounters.map((name) => [name, sum(after, (s) => s[name]) - sum(before, (s) => s[name])])) as Record<
    DefenceCounter,
    number
  >;
  return {
    refusals,
    refusalsTotal: Object.values(refusals).reduce((a, b) => a + b, 0),
    counters,
    relayedSignals: sum(after, (s) => s.relayedSignals) - sum(before, (s) => s.relayedSignals),
    announcementFrames: sum(after, (s) => s.announcementFrames) - sum(before, (s) => s.announcementFrames),
  };
}

/** "address-quota 120, rate-limited 40": the refusals, most frequent first. */
export function describeRefusals(refusals: Record<string, number>): string {
  const entries = Object.entries(refusals).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? 'none' : entries.map(([code, n]) => `${code} ${n}`).join(', ');
}

/** CPU seconds used so far and RSS now, summed over processes (a gone process counts as 0). */
export function procTotals(pids: readonly number[]): { cpuS: number; rssBytes: number } {
  let cpuS = 0;
  let rssBytes = 0;
  for (const pid of pids) {
    const s = sampleProc(pid);
    if (!s) continue;
    cpuS += s.cpuS;
    rssBytes += s.rssBytes;
  }
  return { cpuS, rssBytes };
}

export const mib = (bytes: number): number => Math.round((bytes / (1024 * 1024)) * 10) / 10;
export const round = (x: number | null, digits = 1): number | null => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);
