// Quorum arithmetic: any two quorums share an honest replica, and the honest replicas alone
// always make a quorum — for every replica count, not only n = 3f + 1.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { faultsTolerated, quorumSize, replyQuorum } from '../../../src/core/pbft/quorum.ts';

describe('quorums', () => {
  test('f = ⌊(n − 1)/3⌋ and q = 2f + 1 when n = 3f + 1', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 10, 16].map(faultsTolerated)).toEqual([0, 0, 0, 1, 1, 1, 2, 3, 5]);
    for (const f of [0, 1, 2, 3, 5, 10]) expect(quorumSize(3 * f + 1)).toBe(2 * f + 1);
    expect(replyQuorum(4)).toBe(2);
    expect(replyQuorum(16)).toBe(6);
  });

  test('two quorums always intersect in at least f + 1 replicas (so in an honest one)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), (n) => {
        const f = faultsTolerated(n);
        const q = quorumSize(n);
        expect(2 * q - n).toBeGreaterThanOrEqual(f + 1);
      }),
    );
  });

  test('the honest replicas alone form a quorum (liveness with f faulty)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), (n) => {
        expect(quorumSize(n)).toBeLessThanOrEqual(n - faultsTolerated(n));
      }),
    );
  });

  test('2f + 1 would not be enough for n = 5 (why the general formula is used)', () => {
    const n = 5;
    const f = faultsTolerated(n);
    expect(2 * (2 * f + 1) - n).toBeLessThan(f + 1);
    expect(quorumSize(n)).toBe(4);
  });
});
