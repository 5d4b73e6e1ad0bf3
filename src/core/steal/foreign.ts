// Other homes' jobs as this node sees them: the ones it holds or held tasks of, with how many
// it computed, and whether their home is gone. When failure detection declares a home dead,
// its jobs are shown as orphaned (nobody would collect their results) and their queued tasks
// are set aside, not run; if the home comes back, they return to the queue.
import type { Millis, NodeId } from '../types.ts';
import type { StealConfig } from './config.ts';
import type { JobId, WorkItem } from './messages.ts';
import type { JobView, StealEvent } from './types.ts';

interface ForeignJob {
  id: JobId;
  home: NodeId;
  kind: string;
  priority: WorkItem['priority'];
  total: number;
  computedHere: number;
  orphaned: boolean;
  lastSeen: Millis;
}

export class ForeignJobs {
  private readonly jobs = new Map<JobId, ForeignJob>();
  /** Tasks of dead homes' jobs, set aside (capped: beyond, they are dropped; the home requeues). */
  private readonly parked: WorkItem[] = [];
  private nextSweepAt: Millis = 0;

  constructor(
    private readonly self: NodeId,
    private readonly config: StealConfig,
  ) {}

  get size(): number {
    return this.jobs.size;
  }

  /** A task of this job arrived here. */
  noteTask(now: Millis, item: WorkItem): void {
    const id = item.jobId as JobId;
    const known = this.jobs.get(id);
    if (known) {
      known.lastSeen = now;
      return;
    }
    if (this.jobs.size >= this.config.maxForeignJobs) {
      let oldest: ForeignJob | undefined;
      for (const f of this.jobs.values()) if (!oldest || f.lastSeen < oldest.lastSeen) oldest = f;
      if (oldest) this.jobs.delete(oldest.id);
    }
    this.jobs.set(id, {
      id,
      home: item.home as NodeId,
      kind: item.kind,
      priority: item.priority,
      total: item.total,
      computedHere: 0,
      orphaned: false,
      lastSeen: now,
    });
  }

  /** This node finished one of the job's tasks. */
  noteComputed(now: Millis, item: WorkItem, ok: boolean): void {
    const job = this.jobs.get(item.jobId as JobId);
    if (!job) return;
    if (ok) job.computedHere++;
    job.lastSeen = now;
  }

  /** The home died: its jobs are orphaned and their queued tasks (`queued`) are set aside. */
  orphan(now: Millis, home: NodeId, queued: readonly WorkItem[]): StealEvent[] {
    this.park(queued);
    const events: StealEvent[] = [];
    for (const job of this.jobs.values()) {
      if (job.home !== home || job.orphaned) continue;
      job.orphaned = true;
      job.lastSeen = now;
      events.push({ kind: 'job-orphaned', jobId: job.id, home });
    }
    return events;
  }

  /** Sets tasks of a dead home aside. */
  park(items: readonly WorkItem[]): void {
    for (const item of items) {
      if (this.parked.length >= this.config.maxParkedTasks) return;
      this.parked.push(item);
    }
  }

  /** The home is back: its jobs resume; returns the tasks set aside for it. */
  resume(now: Millis, home: NodeId): { tasks: WorkItem[]; events: StealEvent[] } {
    const tasks = this.parked.filter((item) => item.home === home);
    this.parked.splice(0, this.parked.length, ...this.parked.filter((item) => item.home !== home));
    const events: StealEvent[] = [];
    for (const job of this.jobs.values()) {
      if (job.home !== home || !job.orphaned) continue;
      job.orphaned = false;
      job.lastSeen = now;
      events.push({ kind: 'job-resumed', jobId: job.id, home });
    }
    return { tasks, events };
  }

  /** Forgets jobs not seen for a while that this node no longer holds tasks of. */
  sweep(now: Millis, holds: (jobId: JobId) => boolean): void {
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + this.config.advertRefreshMs;
    for (const [id, job] of this.jobs) if (now - job.lastSeen >= this.config.foreignJobTtlMs && !holds(id)) this.jobs.delete(id);
  }

  nextWakeAt(): Millis | undefined {
    return this.jobs.size > 0 ? this.nextSweepAt : undefined;
  }

  views(): JobView[] {
    return [...this.jobs.values()].map((f) => ({
      id: f.id,
      kind: f.kind,
      home: f.home,
      mine: false,
      status: f.orphaned ? 'orphaned' : 'running',
      priority: f.priority,
      redundancy: 1,
      done: f.computedHere,
      total: f.total,
      shares: { [this.self]: f.computedHere },
      createdAt: null,
      finishedAt: null,
      error: f.orphaned ? `home ${f.home} is gone; nobody collects this job's results` : null,
    }));
  }
}
