// Keeps a tab's protocol worker alive. A worker that throws an uncaught error, reports a fatal
// start-up failure, or goes silent while the page is awake is terminated and a fresh one is
// started on the same slot: it reloads its identity, gossip memory, consensus log and jobs
// from IndexedDB and rejoins, so a bug or a hang costs the node a few seconds, not its place.
// Restarts are bounded: a worker that keeps crashing is given up on with a message a person
// can read, rather than churning WebRTC connections (Chrome allows a tab ~500 over its life).
// A worker that says the browser lacks a feature it needs is given up on at once: no restart
// can fix that (the page checks first, src/capability-probes.ts; this is the worker's backstop).
//
// The page side (mesh-node.ts) decides what a restart means for it (links torn down, commands
// rejected); this file only knows workers, time and the restart budget, so it is tested
// without a browser (test/unit/worker-supervisor.test.ts).

/**
 * Longest silence from a running worker before it counts as hung. The runtime posts a snapshot
 * at least every 4 s (volatileRefreshMs in src/worker/snapshot-pacer.ts: its upkeep marks the
 * counters moved), and sooner on any news; a loaded 2-core machine stretches that by a few
 * seconds at worst, so 20 s is far outside normal and still short enough that a hung tab is noticed.
 */
export const watchdogSilenceMs = 20_000;
/** Longest wait for the first word of a new worker (script load, IndexedDB, key import). */
export const firstWordGraceMs = 60_000;
/** How often the watchdog looks. */
export const watchdogCheckIntervalMs = 2_000;
/**
 * A check that comes this much later than planned means the page itself was not running
 * (frozen, asleep, throttled in the background): the worker's silence then says nothing.
 */
export const pageStallMs = 5_000;
/** Restarts allowed within `restartWindowMs`; one more gives up. */
export const maxRestartsPerWindow = 5;
export const restartWindowMs = 60_000;
/** Restarts remembered for the snapshot (the newest). */
export const restartHistoryLimit = 10;

/** The slice of a Worker the supervisor uses (a real one, or a fake in tests). */
export interface WorkerLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  terminate(): void;
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (event: Event & { data?: unknown; message?: string }) => void): void;
}

export interface RestartRecord {
  /** 1 for the first restart of this page. */
  n: number;
  /** Wall-clock ms. */
  at: number;
  reason: string;
}

/** What the snapshot shows of the supervisor (snapshot().recovery). */
export interface RecoveryView {
  restarts: number;
  lastReason: string | null;
  lastAt: number | null;
  /** The newest restarts, oldest first. */
  history: RestartRecord[];
  /** True from a restart until the new worker's first word. */
  restarting: boolean;
  /** Set once restarts were given up on: why, in words a person can act on. */
  gaveUp: string | null;
}

export interface SupervisorOptions {
  createWorker(): WorkerLike;
  /** Posted to every new worker first (the page's init message, kept whole). */
  initMessage(): unknown;
  /** Every message from the current worker, undecoded. */
  onMessage(data: unknown): void;
  /** A worker was just terminated and another is about to start: drop what the old one owned. */
  onRestart(record: RestartRecord): void;
  /** Restarts were given up on; no worker runs any more. */
  onGiveUp(message: string): void;
  /** Wall-clock ms (restart times); default Date.now. */
  now?(): number;
  /** Monotonic ms (the watchdog); default performance.now. */
  monotonic?(): number;
  setInterval?(fn: () => void, ms: number): unknown;
  clearInterval?(handle: unknown): void;
}

export class WorkerSupervisor {
  private worker: WorkerLike | null = null;
  private generation = 0;
  private heardFromCurrent = false;
  private lastHeardAt = 0;
  private lastCheckAt = 0;
  private readonly restarts: RestartRecord[] = [];
  private readonly recentAt: number[] = [];
  private total = 0;
  private gaveUp: string | null = null;
  private stopped = false;
  private readonly timer: unknown;
  private readonly now: () => number;
  private readonly monotonic: () => number;

  constructor(private readonly options: SupervisorOptions) {
    this.now = options.now ?? (() => Date.now());
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.spawn();
    const every = options.setInterval ?? ((fn, ms) => setInterval(fn, ms));
    this.timer = every(() => this.check(), watchdogCheckIntervalMs);
  }

  /** Posts to the current worker (dropped while none runs). */
  post(message: unknown, transfer?: Transferable[]): void {
    this.worker?.postMessage(message, transfer ?? []);
  }

  /** The worker reported it cannot go on (a `fatal` message): restart it. */
  crashed(reason: string): void {
    if (this.stopped || this.gaveUp !== null) return;
    this.worker?.terminate();
    this.worker = null;
    const at = this.now();
    const mono = this.monotonic();
    while (this.recentAt.length > 0 && mono - (this.recentAt[0] as number) > restartWindowMs) this.recentAt.shift();
    if (this.recentAt.length >= maxRestartsPerWindow) {
      this.gaveUp =
        `the protocol worker failed ${this.recentAt.length + 1} times within ${restartWindowMs / 1000} s (last: ${reason}); ` +
        'it is not restarted again. Reload the tab to try once more; if it keeps failing, report the reason shown.';
      this.stopTimer();
      this.options.onGiveUp(this.gaveUp);
      return;
    }
    this.recentAt.push(mono);
    this.heardFromCurrent = false;
    const record: RestartRecord = { n: ++this.total, at, reason };
    this.restarts.push(record);
    if (this.restarts.length > restartHistoryLimit) this.restarts.shift();
    this.options.onRestart(record);
    this.spawn();
  }

  /** The worker's own `fatal` report: restart it, unless it names a missing capability (`code`). */
  fatal(report: { message: string; code?: string | undefined }): void {
    if (report.code !== undefined) this.unsupported(report.message);
    else this.crashed(report.message);
  }

  /**
   * The worker reported that this browser lacks something it needs (a `fatal` message with a
   * capability code): a fresh worker would lack it too, so give up at once, never restart.
   */
  unsupported(reason: string): void {
    if (this.stopped || this.gaveUp !== null) return;
    this.worker?.terminate();
    this.worker = null;
    this.gaveUp = `the protocol worker cannot run in this browser: ${reason}. Restarting it would not help, so it is not restarted.`;
    this.stopTimer();
    this.options.onGiveUp(this.gaveUp);
  }

  /** The page was frozen or hidden and runs again: the worker's silence meanwhile is no fault. */
  pageResumed(): void {
    this.lastHeardAt = this.monotonic();
    this.lastCheckAt = this.lastHeardAt;
  }

  /** Ends supervision (the node is closing); the worker is left to finish its goodbye. */
  stop(): void {
    this.stopped = true;
    this.stopTimer();
  }

  /** Ends the current worker now (after a graceful leave it has said its goodbyes): frees its thread and memory. */
  terminate(): void {
    this.stop();
    this.worker?.terminate();
    this.worker = null;
  }

  view(): RecoveryView {
    const last = this.restarts.at(-1);
    return {
      restarts: this.total,
      lastReason: last?.reason ?? null,
      lastAt: last?.at ?? null,
      history: [...this.restarts],
      restarting: this.total > 0 && !this.heardFromCurrent && this.gaveUp === null,
      gaveUp: this.gaveUp,
    };
  }

  private spawn(): void {
    const generation = ++this.generation;
    const worker = this.options.createWorker();
    this.worker = worker;
    this.heardFromCurrent = false;
    this.lastHeardAt = this.monotonic();
    this.lastCheckAt = this.lastHeardAt;
    const current = () => generation === this.generation && !this.stopped;
    worker.addEventListener('message', (event) => {
      if (!current()) return;
      this.heardFromCurrent = true;
      this.lastHeardAt = this.monotonic();
      this.options.onMessage(event.data);
    });
    worker.addEventListener('error', (event) => {
      if (!current()) return;
      // An uncaught error leaves the worker's state unknown: start over from storage.
      event.preventDefault();
      this.crashed(`uncaught error: ${event.message || 'the worker script failed to load or run'}`);
    });
    worker.addEventListener('messageerror', () => {
      if (current()) this.crashed('a message from it could not be read');
    });
    worker.postMessage(this.options.initMessage());
  }

  private check(): void {
    if (this.stopped || this.gaveUp !== null || !this.worker) return;
    const now = this.monotonic();
    const sinceCheck = now - this.lastCheckAt;
    this.lastCheckAt = now;
    if (sinceCheck > watchdogCheckIntervalMs + pageStallMs) {
      // The page did not run for a while: give the worker a fresh allowance.
      this.lastHeardAt = now;
      return;
    }
    const allowed = this.heardFromCurrent ? watchdogSilenceMs : firstWordGraceMs;
    const silent = now - this.lastHeardAt;
    if (silent > allowed) this.crashed(`no word from it for ${Math.round(silent / 1000)} s (hung)`);
  }

  private stopTimer(): void {
    (this.options.clearInterval ?? ((handle) => clearInterval(handle as ReturnType<typeof setInterval>)))(this.timer);
  }
}
