// Liveness of every honest replica, as the chaos run samples it: a replica that is halted, in a
// view change, or in another view than the group is "out of step". A moment of that is normal
// (a view change, catching up after a reload); a long one is a replica the room has lost
// without noticing — issue 18 saw one "changing to view 2 with 1 of the 5 view-change messages
// needed" for about 270 s while the six others worked in view 1. The tracker turns samples into
// episodes (who, how, from when to when); checks.ts judges them against a bound. Time counts
// only while the faults allow progress (Byzantine plus missing replicas ≤ f): more than that
// halts any pBFT, and says nothing about this replica.
//
// Two kinds of episode are told apart, because they mean different things (issue 18):
//  - alone: a group of replicas is in step (≥ 2 normal, unhalted, in one view) and this one is
//    not — halted, or in a view change or another view by itself. The room has one fault fewer
//    to spare and nothing brings it back: a failure past the bound.
//  - group-wide: no two replicas are in step (the whole group is changing view, e.g. every
//    replica starved of CPU and its view-change timer running out). No replica is "left
//    alone"; the stretch is bounded by the view-change timeout's doubling up to its ceiling,
//    and is judged against a wider bound (checks.ts).

/** One sample of one tab, as the run reads it (a slice of probe.ts's Probe). */
export interface ReplicaSample {
  id: string;
  status: string;
  view: number;
  mode: string;
  replicas: readonly string[];
  halted: string | null;
  byzantine: string | null;
}

/** A stretch of time during which one honest replica was out of step. */
export interface OutOfStepEpisode {
  replica: string;
  /** How, when it started and at its worst ("alone in view 2 (group in view 1): halted: …"). */
  what: string;
  /** Run time (ms) it started, and ended (or the run's end). */
  fromMs: number;
  toMs: number;
  /** Why it ended: back in step, the tab closed or turned Byzantine, too many faults, or the run ended. */
  ended: 'back in step' | 'tab gone' | 'turned Byzantine' | 'faults beyond f' | 'run ended';
  /** The longest stretch (ms) of it during which a group was in step without this replica. */
  aloneMs: number;
}

/** The view most normal, unhalted replicas are in (with the same replica set), or null if none is. */
export function groupView(samples: readonly ReplicaSample[]): number | null {
  const counts = new Map<string, { view: number; n: number }>();
  for (const s of samples) {
    if (s.status !== 'replica' || s.mode !== 'normal' || s.halted || s.byzantine) continue;
    const key = `${s.view}|${[...s.replicas].sort().join(',')}`;
    const c = counts.get(key) ?? { view: s.view, n: 0 };
    c.n++;
    counts.set(key, c);
  }
  let best: { view: number; n: number } | null = null;
  for (const c of counts.values()) if (!best || c.n > best.n || (c.n === best.n && c.view < best.view)) best = c;
  return best && best.n >= 2 ? best.view : null;
}

/** Why this replica is out of step with the group, or null if it is in step (or not a replica). */
export function outOfStep(s: ReplicaSample, group: number | null): string | null {
  if (s.status !== 'replica' || s.byzantine) return null;
  const where =
    group !== null && s.view !== group ? `${s.view > group ? 'alone ahead' : 'behind'} in view ${s.view} (group in view ${group})` : `in view ${s.view}`;
  if (s.halted) return `${where}${s.mode === 'normal' ? '' : `, ${s.mode}`}: halted: ${s.halted}`;
  if (s.mode !== 'normal') return `${where}, ${s.mode}`;
  if (group !== null && s.view !== group) return where;
  return null;
}

/** Turns samples into out-of-step episodes. Pure: the caller passes the run time of each sample. */
export class LivenessTracker {
  private readonly open = new Map<string, OpenEpisode>();
  private readonly done: OutOfStepEpisode[] = [];

  /**
   * One sampling round: every open tab's sample (tabs whose probe failed this round are left
   * out and keep their episode), and whether the faults allow progress now.
   */
  observe(atMs: number, samples: readonly ReplicaSample[], openIds: ReadonlySet<string>, withinF: boolean): void {
    const group = groupView(samples);
    for (const [id, ep] of [...this.open]) {
      if (!openIds.has(id)) this.close(id, ep.lastMs, 'tab gone');
      else if (!withinF) this.close(id, atMs, 'faults beyond f');
    }
    for (const s of samples) {
      const ep = this.open.get(s.id);
      if (s.byzantine) {
        if (ep) this.close(s.id, atMs, 'turned Byzantine');
        continue;
      }
      const why = withinF ? outOfStep(s, group) : null;
      if (why === null) {
        if (ep) this.close(s.id, atMs, 'back in step');
        continue;
      }
      const current = ep ?? { fromMs: atMs, what: why, lastMs: atMs, aloneFromMs: null, aloneMs: 0 };
      current.lastMs = atMs;
      // Keep the first description, and a later one once it is alone or halted.
      if ((!current.what.includes('halted') && why.includes('halted')) || (group !== null && !current.what.includes('group in view'))) current.what = why;
      if (group === null) current.aloneFromMs = null;
      else {
        current.aloneFromMs ??= atMs;
        current.aloneMs = Math.max(current.aloneMs, atMs - current.aloneFromMs);
      }
      if (!ep) this.open.set(s.id, current);
    }
  }

  /** Every episode, the open ones ended at `atMs`. */
  finish(atMs: number): OutOfStepEpisode[] {
    for (const [id] of [...this.open]) this.close(id, atMs, 'run ended');
    return [...this.done];
  }

  private close(id: string, toMs: number, ended: OutOfStepEpisode['ended']): void {
    const ep = this.open.get(id);
    if (!ep) return;
    this.open.delete(id);
    const aloneMs = ep.aloneFromMs === null ? ep.aloneMs : Math.max(ep.aloneMs, toMs - ep.aloneFromMs);
    this.done.push({ replica: id, what: ep.what, fromMs: ep.fromMs, toMs: Math.max(toMs, ep.fromMs), ended, aloneMs });
  }
}

interface OpenEpisode {
  fromMs: number;
  what: string;
  lastMs: number;
  /** Since when a group has been in step without this replica (null while there is none). */
  aloneFromMs: number | null;
  aloneMs: number;
}
