// Decides when the dashboard renders the newest of a stream of values (the worker's snapshots):
// the first at once; then at most one per intervalMs, always the newest (nothing is queued: a
// value replaced before it was shown is simply skipped); a value that is no news (same `key` as
// the one shown: only counters moved) at most one per quietIntervalMs; every value while
// "following" (just after a person acted); nothing while hidden, and the newest at once when
// shown again. Clock and timer are injected, so the rules are tested without a browser.

export interface RefreshGateOptions<T> {
  /** Least time between two values shown while not following. */
  intervalMs: number;
  /** How long follow() shows every value. */
  followMs: number;
  /** Least time between two values shown when the newer is no news (its key equals the shown one's). */
  quietIntervalMs?: number;
  /** What a value says that matters; equal keys mean "no news". Without it every value is news. */
  key?(value: T): string;
  now(): number;
  /** Runs `fn` after `ms`; returns a cancel function. */
  schedule(fn: () => void, ms: number): () => void;
  show(value: T): void;
}

export class RefreshGate<T> {
  private pending: { value: T; key: string | undefined } | null = null;
  private shownKey: string | undefined = undefined;
  private timerAt = Infinity;
  private shownAt = -Infinity;
  private shownAny = false;
  private followUntil = -Infinity;
  private visible = true;
  private cancelTimer: (() => void) | null = null;
  /** Values offered and values shown, for tests and curiosity. */
  readonly counts = { offered: 0, shown: 0 };

  constructor(private readonly options: RefreshGateOptions<T>) {}

  /** A new value: shown now, later (the newest by then), or when the page is shown again. */
  offer(value: T): void {
    this.counts.offered++;
    const key = this.options.key?.(value);
    this.pending = { value, key };
    if (!this.visible) return;
    const now = this.options.now();
    if (!this.shownAny || now < this.followUntil) {
      this.flush();
      return;
    }
    const news = key === undefined || key !== this.shownKey;
    const dueAt = this.shownAt + (news ? this.options.intervalMs : (this.options.quietIntervalMs ?? this.options.intervalMs));
    if (dueAt <= now) {
      this.flush();
      return;
    }
    // A timer already due as soon (or sooner) shows this value then; news may bring it forward.
    if (this.cancelTimer && this.timerAt <= dueAt) return;
    this.stopTimer();
    this.timerAt = dueAt;
    this.cancelTimer = this.options.schedule(() => this.flush(), dueAt - now);
  }

  /** Show every value for the next followMs, starting with the one waiting, if any. */
  follow(): void {
    this.followUntil = this.options.now() + this.options.followMs;
    if (this.visible && this.pending) this.flush();
  }

  /** Hidden: show nothing (the newest value waits). Shown again: the newest value at once. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    if (!visible) this.stopTimer();
    else if (this.pending) this.flush();
  }

  /** Drops the timer (the page is going away). */
  dispose(): void {
    this.stopTimer();
  }

  private stopTimer(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.timerAt = Infinity;
  }

  private flush(): void {
    this.stopTimer();
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    this.shownKey = pending.key;
    this.shownAt = this.options.now();
    this.shownAny = true;
    this.counts.shown++;
    this.options.show(pending.value);
  }
}
