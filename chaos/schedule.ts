// The chaos run's adversary, as data: from a seed, the list of timed actions (kill, crash and
// reload tabs, restart the signaling server, turn tabs Byzantine and back, flood a link) and the
// client's plan (when to propose, when to submit a job, and from which tab). Pure and
// deterministic: the same seed and options give the same schedule, so a failure replays.
//
// Tabs are named by position 0…tabs−1: a killed tab is replaced by a new tab in the same
// position, so a position always names an open tab. The schedule keeps two rules by construction
// (the runner checks them again against the live replica set and skips an action that would break them):
//  - at most f = ⌊(tabs−1)/3⌋ tabs are Byzantine at once;
//  - a tab is only killed, crashed or reloaded while fewer than f tabs are Byzantine, so that
//    Byzantine plus down replicas never exceed f (pBFT stays live, not just safe);
//  - only the last f positions ever turn Byzantine, so most tabs stay honest for the whole run
//    and their logs are all compared at the end.
// Actions run one after another (the runner waits for each to finish), so a server restart and
// a tab (re)load never overlap; a kill or a reload targets a tab that is not Byzantine.
import { byzantineModes, type ByzantineMode } from '../src/core/pbft/byzantine.ts';
import { createRng, type Rng } from '../src/core/rng.ts';
import type { FloodKind } from '../src/worker/debug-commands.ts';

export type ChaosAction =
  /** Close the tab (it says goodbye) and open a replacement: in the same profile, where it usually takes the freed slot, so the same identity comes back with its stored state; or in a new profile, as a new node. */
  | { atMs: number; kind: 'kill'; tab: number; replacement: Replacement }
  /** Crash the tab's renderer (no goodbye), then open a replacement as for a kill. */
  | { atMs: number; kind: 'crash'; tab: number; replacement: Replacement }
  | { atMs: number; kind: 'reload'; tab: number }
  | { atMs: number; kind: 'server-restart'; downMs: number }
  | { atMs: number; kind: 'byzantine'; tab: number; mode: ByzantineMode }
  | { atMs: number; kind: 'honest'; tab: number }
  | { atMs: number; kind: 'flood'; tab: number; frames: number; flood: FloodKind };

export type ChaosActionKind = ChaosAction['kind'];
export type Replacement = 'same-profile' | 'new-profile';

/** A client step: `pick` in [0, 1) chooses among the honest open tabs when it runs. */
export interface ClientStep {
  atMs: number;
  pick: number;
}

export interface JobStep extends ClientStep {
  /** A primes job over [0, to) in `chunks` tasks (the runner checks the count it returns). */
  to: number;
  chunks: number;
}

export interface ChaosSchedule {
  seed: number;
  tabs: number;
  /** Byzantine tabs tolerated with every tab a replica. */
  f: number;
  durationMs: number;
  actions: ChaosAction[];
  proposals: ClientStep[];
  jobs: JobStep[];
}

export interface ScheduleOptions {
  seed: number;
  tabs: number;
  /** Length of the adversary's part of the run (the client proposes over the same span). */
  durationMs: number;
  /** The short form: the same kinds of action, closer together. */
  quick?: boolean;
}

/** Fewest and most tabs a chaos run drives (f ≥ 1 needs 4; more than 8 is too much for 2 cores). */
export const minChaosTabs = 4;
export const maxChaosTabs = 8;
/** Kinds every schedule holds at least once (if the run is long enough), so no fault goes untried. */
export const requiredKinds: readonly ChaosActionKind[] = ['kill', 'crash', 'reload', 'server-restart', 'byzantine', 'flood'];
/** Quiet time before the first action (the mesh and consensus were formed before the clock starts). */
const leadInMs = 3_000;
/** Gaps between actions, ms: [fewest, most] for the long form and the short form. */
const gapMs = { long: [6_000, 14_000], quick: [4_000, 8_000] } as const;
/** How long the signaling server stays down, ms: [fewest, most]. */
const serverDownMs = [2_000, 6_000] as const;
/** Frames in one flood: enough to pass the guard's burst (2,000) and flood threshold (500 refused) within its 5 s window. */
export const floodFrames = 5_000;
/** Flood kinds the adversary uses ('large' alone only throttles; it is part of 'mixed'). */
const floodKindsUsed: readonly FloodKind[] = ['rapid', 'garbage', 'mixed'];
/** Gap between two proposals, ms: [fewest, most]. A few per second keeps the 64-entry log tail readable between samples. */
const proposalGapMs = [250, 900] as const;
/** Gap between two jobs, ms: [fewest, most]. */
const jobGapMs = [6_000, 12_000] as const;
/** Primes jobs: range end and tasks (small: a second or two of one core each). */
const jobTo = [2_000_000, 6_000_000] as const;
const jobChunks = [4, 12] as const;

/** Weights of the random picks after the required kinds. */
const weights: Record<ChaosActionKind, number> = { kill: 2, crash: 1, reload: 2, 'server-restart': 1, byzantine: 2, honest: 2, flood: 1 };

export const faultsTolerated = (replicas: number): number => Math.max(0, Math.floor((replicas - 1) / 3));

const between = (rng: Rng, [lo, hi]: readonly [number, number]): number => lo + rng.int(hi - lo + 1);

function weightedPick(rng: Rng, kinds: ChaosActionKind[]): ChaosActionKind {
  const total = kinds.reduce((sum, k) => sum + weights[k], 0);
  let roll = rng.next() * total;
  for (const k of kinds) {
    roll -= weights[k];
    if (roll < 0) return k;
  }
  return kinds[kinds.length - 1] as ChaosActionKind;
}

export function makeSchedule(options: ScheduleOptions): ChaosSchedule {
  const { seed, tabs, durationMs } = options;
  if (!Number.isInteger(tabs) || tabs < minChaosTabs || tabs > maxChaosTabs)
    throw new Error(`tabs must be a whole number from ${minChaosTabs} to ${maxChaosTabs}`);
  if (!Number.isFinite(durationMs) || durationMs <= 0) throw new Error('durationMs must be positive');
  const f = faultsTolerated(tabs);
  const rng = createRng(seed);
  const actionsRng = rng.fork('actions');
  const gaps = options.quick ? gapMs.quick : gapMs.long;
  const byzantine = new Set<number>();
  const actions: ChaosAction[] = [];
  let t = leadInMs;

  const pickTab = (allowed: (tab: number) => boolean): number | null => {
    const choices = Array.from({ length: tabs }, (_, i) => i).filter(allowed);
    return choices.length === 0 ? null : (choices[actionsRng.int(choices.length)] as number);
  };
  const emit = (kind: ChaosActionKind): void => {
    switch (kind) {
      case 'kill':
      case 'crash':
      case 'reload': {
        // Keep Byzantine + down ≤ f: cure one first if need be.
        if (byzantine.size >= f) emit('honest');
        const tab = pickTab((i) => !byzantine.has(i));
        if (tab === null) return;
        if (kind === 'reload') actions.push({ atMs: t, kind, tab });
        else actions.push({ atMs: t, kind, tab, replacement: actionsRng.next() < 0.5 ? 'same-profile' : 'new-profile' });
        return;
      }
      case 'server-restart':
        actions.push({ atMs: t, kind, downMs: between(actionsRng, serverDownMs) });
        return;
      case 'byzantine': {
        if (f === 0) return;
        if (byzantine.size >= f) emit('honest');
        const tab = pickTab((i) => i >= tabs - f && !byzantine.has(i));
        if (tab === null) return;
        byzantine.add(tab);
        actions.push({ atMs: t, kind, tab, mode: byzantineModes[actionsRng.int(byzantineModes.length)] as ByzantineMode });
        return;
      }
      case 'honest': {
        const tab = pickTab((i) => byzantine.has(i));
        if (tab === null) return;
        byzantine.delete(tab);
        actions.push({ atMs: t, kind, tab });
        return;
      }
      case 'flood': {
        const tab = pickTab(() => true) as number;
        actions.push({ atMs: t, kind, tab, frames: floodFrames, flood: floodKindsUsed[actionsRng.int(floodKindsUsed.length)] as FloodKind });
        return;
      }
    }
  };

  const required = actionsRng.shuffle(requiredKinds);
  while (t < durationMs) {
    const next = required.shift();
    if (next) emit(next);
    else {
      const kinds = (Object.keys(weights) as ChaosActionKind[]).filter((k) => (k === 'honest' ? byzantine.size > 0 : k === 'byzantine' ? f > 0 : true));
      emit(weightedPick(actionsRng, kinds));
    }
    t += between(actionsRng, gaps);
  }
  // The run ends with every tab honest again (the checks then look at a quiet mesh).
  for (const tab of [...byzantine].sort((a, b) => a - b)) actions.push({ atMs: Math.min(t, durationMs), kind: 'honest', tab });

  const clientRng = rng.fork('client');
  const proposals: ClientStep[] = [];
  for (let at = leadInMs; at < durationMs; at += between(clientRng, proposalGapMs)) proposals.push({ atMs: at, pick: clientRng.next() });
  const jobs: JobStep[] = [];
  for (let at = leadInMs; at < durationMs; at += between(clientRng, jobGapMs)) {
    jobs.push({ atMs: at, pick: clientRng.next(), to: between(clientRng, jobTo), chunks: between(clientRng, jobChunks) });
  }
  return { seed, tabs, f, durationMs, actions, proposals, jobs };
}

/** Byzantine tabs after each action, replayed from the list: what the unit tests hold the rules against. */
export function byzantineAfterEach(actions: readonly ChaosAction[]): number[][] {
  const now = new Set<number>();
  return actions.map((a) => {
    if (a.kind === 'byzantine') now.add(a.tab);
    else if (a.kind === 'honest') now.delete(a.tab);
    return [...now].sort((x, y) => x - y);
  });
}

/** One line per action, for the run's log and for a person replaying a seed. */
export function describeAction(a: ChaosAction): string {
  const at = `${(a.atMs / 1000).toFixed(1)} s`;
  switch (a.kind) {
    case 'server-restart':
      return `${at}: restart the signaling server (down ${(a.downMs / 1000).toFixed(1)} s)`;
    case 'byzantine':
      return `${at}: tab ${a.tab} turns Byzantine (${a.mode})`;
    case 'flood':
      return `${at}: tab ${a.tab} floods a linked peer (${a.frames} frames, ${a.flood})`;
    case 'kill':
    case 'crash':
      return `${at}: ${a.kind} tab ${a.tab}, replaced in ${a.replacement === 'same-profile' ? 'the same profile (its slot and identity usually come back)' : 'a new profile (a new identity)'}`;
    default:
      return `${at}: ${a.kind} tab ${a.tab}`;
  }
}
