// The chaos run's flags (chaos/cli.ts): defaults, the short form, and bad flags refused with
// what to change (main.ts then exits 2 with the usage).
import { describe, expect, test } from 'vitest';
import { parseChaosArgs } from '../../../chaos/cli.ts';

const drawn = () => 123;

describe('chaos flags', () => {
  test('defaults: 7 tabs, 180 s, a drawn seed; --quick shortens to 75 s', () => {
    expect(parseChaosArgs([], drawn)).toMatchObject({ seed: 123, seedDrawn: true, tabs: 7, durationMs: 180_000, quick: false, heapBoundMb: null });
    expect(parseChaosArgs(['--quick', '--tabs', '6'], drawn)).toMatchObject({ tabs: 6, durationMs: 75_000, quick: true });
    expect(parseChaosArgs(['--seed=42', '--duration', '600', '--heap-bound-mb', '64'], drawn)).toMatchObject({
      seed: 42,
      seedDrawn: false,
      durationMs: 600_000,
      heapBoundMb: 64,
    });
  });

  test('bad flags are refused with the reason', () => {
    expect(() => parseChaosArgs(['--tabs', '9'], drawn)).toThrow(/--tabs needs a whole number from 4 to 8, got 9/);
    expect(() => parseChaosArgs(['--seed', '-1'], drawn)).toThrow(/--seed needs a whole number/);
    expect(() => parseChaosArgs(['--duration'], drawn)).toThrow(/--duration needs a whole number from 10 to 3600, got nothing/);
    expect(() => parseChaosArgs(['--fast'], drawn)).toThrow(/unknown flag --fast/);
  });
});
