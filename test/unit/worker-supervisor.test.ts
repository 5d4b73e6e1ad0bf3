// The page's protocol-worker supervisor on fake workers and a fake clock: what makes it restart
// (an uncaught error, a fatal report, silence while the page runs), what does not (a page that
// was itself asleep), that every new worker gets the same init message, that an old worker's
// late messages are ignored, and that a crash loop ends in a readable give-up.
import { describe, expect, test } from 'vitest';
import {
  firstWordGraceMs,
  maxRestartsPerWindow,
  restartWindowMs,
  watchdogCheckIntervalMs,
  watchdogSilenceMs,
  WorkerSupervisor,
  type RestartRecord,
} from '../../src/worker-supervisor.ts';
import { FakeWorker } from './page-fakes.ts';

function setup() {
  const clock = { now: 1_000_000 };
  const workers: FakeWorker[] = [];
  const messages: unknown[] = [];
  const restarts: RestartRecord[] = [];
  const gaveUp: string[] = [];
  const restartingWhenTold: boolean[] = [];
  let tick: (() => void) | null = null;
  const init = { type: 'init', slot: 3, room: 'r', password: 'kept whole' };
  const supervisor = new WorkerSupervisor({
    createWorker: () => {
      const worker = new FakeWorker();
      workers.push(worker);
      return worker;
    },
    initMessage: () => init,
    onMessage: (data) => messages.push(data),
    onRestart: (record) => {
      restarts.push(record);
      // What the page publishes at this moment must already say a restart is under way.
      restartingWhenTold.push(supervisor.view().restarting);
    },
    onGiveUp: (message) => gaveUp.push(message),
    now: () => clock.now,
    monotonic: () => clock.now,
    setInterval: (fn) => {
      tick = fn;
      return 1;
    },
    clearInterval: () => {
      tick = null;
    },
  });
  /** Advances the clock in watchdog steps, as a running page would. */
  const advance = (ms: number) => {
    for (let left = ms; left > 0; left -= watchdogCheckIntervalMs) {
      clock.now += Math.min(watchdogCheckIntervalMs, left);
      tick?.();
    }
  };
  const current = () => workers.at(-1) as FakeWorker;
  return { clock, workers, messages, restarts, gaveUp, supervisor, advance, current, init, restartingWhenTold };
}

describe('worker supervisor', () => {
  test('an uncaught error restarts the worker, which gets the same init message', () => {
    const s = setup();
    expect(s.workers).toHaveLength(1);
    expect(s.current().posted).toEqual([s.init]);
    s.current().fire('message', { data: { type: 'snapshot' } });
    s.current().fire('error', { message: 'Uncaught Error: boom' });
    expect(s.workers[0]?.terminated).toBe(true);
    expect(s.workers).toHaveLength(2);
    expect(s.current().posted[0]).toBe(s.init);
    expect(s.restarts).toEqual([{ n: 1, at: 1_000_000, reason: 'uncaught error: Uncaught Error: boom' }]);
    expect(s.restartingWhenTold).toEqual([true]);
    expect(s.supervisor.view()).toMatchObject({
      restarts: 1,
      lastReason: 'uncaught error: Uncaught Error: boom',
      lastAt: 1_000_000,
      restarting: true,
      gaveUp: null,
    });
    s.current().fire('message', { data: 'hello again' });
    expect(s.supervisor.view().restarting).toBe(false);
  });

  test("the old worker's late messages and errors are ignored", () => {
    const s = setup();
    const old = s.current();
    old.fire('error', { message: 'first' });
    old.fire('message', { data: 'stale' });
    old.fire('error', { message: 'second' });
    expect(s.messages).toEqual([]);
    expect(s.restarts).toHaveLength(1);
  });

  test('a fatal report restarts it too', () => {
    const s = setup();
    s.supervisor.crashed('the node could not start: quota exceeded');
    expect(s.workers).toHaveLength(2);
    expect(s.supervisor.view().lastReason).toBe('the node could not start: quota exceeded');
  });

  test('a fatal report without a code restarts it; one naming a missing capability gives up at once, never restarting', () => {
    const s = setup();
    s.supervisor.fatal({ message: 'the node could not start: quota exceeded' });
    expect(s.workers).toHaveLength(2);
    s.supervisor.fatal({ message: 'the node cannot start: this browser cannot sign with Ed25519', code: 'no-ed25519' });
    expect(s.workers).toHaveLength(2);
    expect(s.current().terminated).toBe(true);
    expect(s.gaveUp).toHaveLength(1);
    expect(s.gaveUp[0]).toMatch(/cannot run in this browser: the node cannot start: this browser cannot sign with Ed25519\. Restarting it would not help/);
    expect(s.supervisor.view()).toMatchObject({ restarts: 1, gaveUp: s.gaveUp[0], restarting: false });
    // Nothing wakes it again: not the watchdog, not a late error, not another report.
    s.advance(firstWordGraceMs * 2);
    s.current().fire('error', { message: 'late' });
    s.supervisor.fatal({ message: 'again', code: 'no-ed25519' });
    s.supervisor.crashed('again');
    expect(s.workers).toHaveLength(2);
    expect(s.gaveUp).toHaveLength(1);
  });

  test('a worker that refuses for a missing capability on every start is started once, not in a loop', () => {
    const s = setup();
    // Each worker answers its init with the refusal, as node.worker.ts does without WebCrypto.
    for (let round = 0; round < maxRestartsPerWindow * 2 && !s.current().terminated; round++) {
      s.current().fire('message', { data: 'init received' });
      s.supervisor.fatal({ message: 'no crypto.subtle', code: 'insecure-context' });
      s.advance(watchdogSilenceMs);
    }
    expect(s.workers).toHaveLength(1);
    expect(s.restarts).toEqual([]);
    expect(s.gaveUp).toHaveLength(1);
  });

  test(`silence longer than ${watchdogSilenceMs} ms while the page runs counts as a hang; shorter does not`, () => {
    const s = setup();
    s.current().fire('message', { data: 1 });
    s.advance(watchdogSilenceMs - watchdogCheckIntervalMs);
    expect(s.restarts).toHaveLength(0);
    s.current().fire('message', { data: 2 });
    s.advance(watchdogSilenceMs - watchdogCheckIntervalMs);
    expect(s.restarts).toHaveLength(0);
    s.advance(2 * watchdogCheckIntervalMs);
    expect(s.restarts).toHaveLength(1);
    expect(s.restarts[0]?.reason).toMatch(/no word from it for \d+ s \(hung\)/);
  });

  test(`a new worker has ${firstWordGraceMs} ms for its first word`, () => {
    const s = setup();
    s.advance(firstWordGraceMs - watchdogCheckIntervalMs);
    expect(s.restarts).toHaveLength(0);
    s.advance(2 * watchdogCheckIntervalMs);
    expect(s.restarts).toHaveLength(1);
  });

  test('a page that was itself frozen does not blame the worker for the silence', () => {
    const s = setup();
    s.current().fire('message', { data: 1 });
    // The page's timer did not run for a minute (frozen): the next check comes late.
    s.clock.now += 60_000;
    s.advance(watchdogCheckIntervalMs);
    expect(s.restarts).toHaveLength(0);
    s.supervisor.pageResumed();
    s.advance(watchdogSilenceMs - watchdogCheckIntervalMs);
    expect(s.restarts).toHaveLength(0);
  });

  test(`more than ${maxRestartsPerWindow} crashes within ${restartWindowMs} ms end in a readable give-up`, () => {
    const s = setup();
    for (let i = 0; i < maxRestartsPerWindow; i++) s.current().fire('error', { message: `crash ${i}` });
    expect(s.workers).toHaveLength(maxRestartsPerWindow + 1);
    expect(s.gaveUp).toEqual([]);
    s.current().fire('error', { message: 'once more' });
    expect(s.workers).toHaveLength(maxRestartsPerWindow + 1);
    expect(s.current().terminated).toBe(true);
    expect(s.gaveUp).toHaveLength(1);
    expect(s.gaveUp[0]).toMatch(/failed 6 times within 60 s \(last: uncaught error: once more\).*Reload the tab/);
    expect(s.supervisor.view()).toMatchObject({ restarts: maxRestartsPerWindow, gaveUp: s.gaveUp[0], restarting: false });
    s.supervisor.crashed('after giving up');
    expect(s.workers).toHaveLength(maxRestartsPerWindow + 1);
  });

  test('crashes spread over time are each restarted', () => {
    const s = setup();
    for (let i = 0; i < maxRestartsPerWindow * 2; i++) {
      s.current().fire('message', { data: i });
      s.current().fire('error', { message: `crash ${i}` });
      s.clock.now += restartWindowMs / maxRestartsPerWindow + 1;
    }
    expect(s.gaveUp).toEqual([]);
    expect(s.supervisor.view().restarts).toBe(maxRestartsPerWindow * 2);
    expect(s.supervisor.view().history.length).toBeLessThanOrEqual(10);
  });

  test('after stop() nothing restarts', () => {
    const s = setup();
    s.supervisor.stop();
    s.current().fire('error', { message: 'while closing' });
    s.advance(firstWordGraceMs * 2);
    expect(s.workers).toHaveLength(1);
  });
});
