// The chaos run's verdicts (chaos/checks.ts) on crafted inputs: what a healthy run collects
// passes, and each way a run can go wrong — a lost, reordered or duplicated operation, replicas
// that disagree, a task accepted twice, a split mesh, a heap over its bound, a flood nobody
// stopped — fails with a reason a person can act on.
import { describe, expect, test } from 'vitest';
import {
  checkConsensus,
  checkFlood,
  checkJobs,
  checkMemory,
  checkMesh,
  type AckedOp,
  type FloodOutcome,
  type JobOutcome,
  type TabFinal,
} from '../../../chaos/checks.ts';
import { mergeSample, newHistory, type LogEntryView, type LogHistory } from '../../../chaos/logs.ts';

const op = (n: number) => ({ kind: 'decision', value: `chaos 1 #${n}` });

function log(seqs: number, change: (seq: number) => Partial<LogEntryView> = () => ({})): LogEntryView[] {
  return Array.from({ length: seqs }, (_, i) => ({ seq: i + 1, digest: `d${i + 1}`, client: 'c', ts: i + 1, op: op(i + 1), ...change(i + 1) }));
}

function history(node: string, entries: LogEntryView[], genesis = 'g1'): LogHistory {
  const h = newHistory(node, genesis);
  mergeSample(h, entries);
  return h;
}

const acked = (ns: number[]): AckedOp[] => ns.map((n) => ({ op: op(n), seq: n, by: 'tab-x' }));

describe('consensus check', () => {
  test('honest logs that agree, holding every acknowledged op at its seq, pass', () => {
    const r = checkConsensus({
      histories: [history('a', log(20)), history('b', log(20)), history('c', log(20))],
      acked: acked([3, 7, 20]),
      failedProposals: 2,
    });
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.figures['verified']).toBe(3);
  });

  test('an acknowledged op missing from one honest log fails (lost)', () => {
    const holed = log(20).filter((e) => e.seq !== 7);
    const r = checkConsensus({ histories: [history('a', log(20)), history('b', holed)], acked: acked([7]), failedProposals: 0 });
    expect(r.ok).toBe(false);
    expect(r.failures.join('\n')).toMatch(/missing from the log of b/);
  });

  test('two logs with different batches at one seq fail (reordered), and so does an op at another seq than acknowledged', () => {
    const swapped = log(20, (seq) => (seq === 5 ? { op: op(6), digest: 'd6' } : seq === 6 ? { op: op(5), digest: 'd5' } : {}));
    const r = checkConsensus({ histories: [history('a', log(20)), history('b', swapped)], acked: acked([5]), failedProposals: 0 });
    expect(r.ok).toBe(false);
    const text = r.failures.join('\n');
    expect(text).toMatch(/seq 5: a holds/);
    expect(text).toMatch(/acknowledged at seq 5 but b has it at seq 6/);
  });

  test('an op executed twice fails', () => {
    const twice = log(20, (seq) => (seq === 9 ? { op: op(4) } : {}));
    const r = checkConsensus({ histories: [history('a', twice)], acked: acked([4]), failedProposals: 0 });
    expect(r.ok).toBe(false);
    expect(r.failures.join('\n')).toMatch(/appears 2 times/);
  });

  test('a log that never caught up with the newest acknowledged op fails', () => {
    const r = checkConsensus({ histories: [history('a', log(20)), history('b', log(12))], acked: acked([18]), failedProposals: 0 });
    expect(r.ok).toBe(false);
    expect(r.failures.join('\n')).toMatch(/log of b ends at seq 12, before acknowledged seq 18/);
  });

  test('an acknowledged op that no honest log was sampled at is unverified, which fails', () => {
    const a = newHistory('a', 'g1');
    mergeSample(a, log(10));
    mergeSample(a, log(200).slice(100, 164));
    const r = checkConsensus({ histories: [a], acked: acked([50]), failedProposals: 0 });
    expect(r.ok).toBe(false);
    expect(r.failures.join('\n')).toMatch(/could not be verified/);
  });

  test('honest tabs on different geneses, a log that changed between samples, or no log at all fail', () => {
    expect(checkConsensus({ histories: [history('a', log(5), 'g1'), history('b', log(5), 'g2')], acked: [], failedProposals: 0 }).ok).toBe(false);
    const changed = history('a', log(10));
    mergeSample(
      changed,
      log(10, (seq) => (seq === 10 ? { digest: 'other' } : {})),
    );
    expect(checkConsensus({ histories: [changed], acked: [], failedProposals: 0 }).failures.join('\n')).toMatch(/changed between samples/);
    expect(checkConsensus({ histories: [], acked: [], failedProposals: 0 }).ok).toBe(false);
  });
});

function job(over: Partial<JobOutcome> = {}): JobOutcome {
  return {
    id: 'job-1',
    home: 'home-a',
    status: 'done',
    done: 4,
    total: 4,
    redundancy: 1,
    shares: { a: 3, b: 1 },
    accepted: [
      { index: 2, nodes: ['a'] },
      { index: 0, nodes: ['b'] },
      { index: 1, nodes: ['a'] },
      { index: 3, nodes: ['a'] },
    ],
    count: 664_579,
    expectedCount: 664_579,
    homeOpen: true,
    ...over,
  };
}

describe('jobs check', () => {
  test('a done job with one accepted result per task and the right answer passes', () => {
    const r = checkJobs([job(), job({ id: 'job-2', homeOpen: false, status: 'unknown' })]);
    expect(r.failures).toEqual([]);
    expect(r.figures['judged']).toBe(1);
  });

  test('a task accepted twice, or not at all, fails', () => {
    const twice = checkJobs([job({ accepted: [...(job().accepted ?? []), { index: 1, nodes: ['b'] }], shares: { a: 3, b: 2 } })]);
    expect(twice.failures.join('\n')).toMatch(/task 1 has 2 accepted results/);
    const missing = checkJobs([job({ accepted: (job().accepted ?? []).filter((t) => t.index !== 3) })]);
    expect(missing.failures.join('\n')).toMatch(/task 3 has no accepted result/);
  });

  test('shares that credit more results than were accepted fail (a task counted twice)', () => {
    expect(checkJobs([job({ shares: { a: 4, b: 1 } })]).failures.join('\n')).toMatch(/shares credit 5 results/);
  });

  test('a job that ended while its home was open is judged after the home closed; one that had not ended is only reported', () => {
    const r = checkJobs([
      job(),
      job({ id: 'job-2', homeOpen: false, recorded: true, accepted: [{ index: 0, nodes: ['a'] }] }),
      job({ id: 'job-3', homeOpen: false, status: 'running' }),
    ]);
    expect(r.figures['judged']).toBe(2);
    expect(r.figures['judgedAfterHomeClosed']).toBe(1);
    expect(r.failures.join('\n')).toMatch(/job job-2 at home-a: task 1 has no accepted result/);
    expect(r.failures.join('\n')).not.toMatch(/job-3/);
    expect(String(r.figures['statuses'])).toMatch(/home closed before it ended \(running\): 1/);
  });

  test('a wrong answer, a job stuck at an open home, or no finished job at all fail', () => {
    expect(checkJobs([job({ count: 664_578 })]).failures.join('\n')).toMatch(/the right answer is 664579/);
    expect(checkJobs([job(), job({ id: 'job-2', status: 'running', done: 2 })]).failures.join('\n')).toMatch(/never finished/);
    expect(checkJobs([job({ status: 'failed' })]).failures.join('\n')).toMatch(/no job finished/);
    expect(checkJobs([job(), job({ id: 'job-2', status: 'missing at its home' })]).failures.join('\n')).toMatch(/gone from its home/);
  });
});

const tabs = (links: Record<string, string[]>, status: (viewer: string, member: string) => string = () => 'alive'): TabFinal[] =>
  Object.keys(links).map((id) => ({ id, links: links[id] ?? [], members: Object.keys(links).map((m) => ({ id: m, status: status(id, m) })) }));

describe('mesh check', () => {
  test('every tab alive to all, linked, connected passes', () => {
    expect(checkMesh(tabs({ a: ['b'], b: ['a', 'c'], c: ['b'] })).failures).toEqual([]);
  });

  test('a tab with no link, a member seen as suspect, or a split graph fails', () => {
    expect(checkMesh(tabs({ a: ['b'], b: ['a'], c: [] })).failures.join('\n')).toMatch(/c has no link/);
    expect(checkMesh(tabs({ a: ['b'], b: ['a'], c: ['d'], d: ['c'] })).failures.join('\n')).toMatch(/split: 2 of 4/);
    expect(checkMesh(tabs({ a: ['b'], b: ['a'] }, (v, m) => (v === 'a' && m === 'b' ? 'suspect' : 'alive'))).failures.join('\n')).toMatch(
      /a sees b as suspect/,
    );
  });
});

describe('memory check', () => {
  test('samples under the bound pass; one over it, or none at all, fail', () => {
    const samples = [
      { tab: 'a', atMs: 1_000, bytes: 20e6 },
      { tab: 'a', atMs: 11_000, bytes: 25e6 },
      { tab: 'b', atMs: 1_000, bytes: 30e6 },
    ];
    const ok = checkMemory(samples, 80e6);
    expect(ok.ok).toBe(true);
    expect(ok.figures['peakMb']).toBe(30);
    expect(checkMemory([...samples, { tab: 'b', atMs: 21_000, bytes: 81e6 }], 80e6).failures.join('\n')).toMatch(/81\.0 MB .* over the bound of 80 MB/);
    expect(checkMemory([], 80e6).ok).toBe(false);
  });
});

describe('flood check', () => {
  const flood = (over: Partial<FloodOutcome> = {}): FloodOutcome => ({
    from: 'a',
    to: 'b',
    kind: 'rapid',
    sent: 5_000,
    refused: 2_400,
    cutOff: true,
    error: null,
    ...over,
  });
  test('a flood refused and cut off passes; one let through or not cut off fails', () => {
    expect(checkFlood([flood()]).ok).toBe(true);
    expect(checkFlood([flood({ refused: 0 })]).failures.join('\n')).toMatch(/refused none/);
    expect(checkFlood([flood({ cutOff: false })]).failures.join('\n')).toMatch(/did not cut the flooder off/);
    expect(checkFlood([flood({ to: null, sent: null, error: 'no linked peer' })]).failures.join('\n')).toMatch(/no flood could be started/);
  });
});
