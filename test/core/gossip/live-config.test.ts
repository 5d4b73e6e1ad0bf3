// The gossip core's live settings ('config' input): fanout and cycle change while it runs,
// anything else or anything out of range is refused with a reason and changes nothing.
import { describe, expect, test } from 'vitest';
import { GossipCore } from '../../../src/core/gossip/core.ts';
import type { GossipEffect, GossipInput } from '../../../src/core/gossip/types.ts';
import { createRng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';

const n = (i: number): NodeId => `n${i}` as NodeId;
const peers = Array.from({ length: 8 }, (_, i) => n(i + 1));

const makeCore = () => new GossipCore({ id: n(0), rng: createRng(7), now: 0, config: { contactMode: 'members' }, peers });
const syncTargets = (effects: GossipEffect[]) => new Set(effects.flatMap((e) => (e.type === 'send' && e.msg.type === 'sync' ? [e.to] : [])));
const refusal = (effects: GossipEffect[]) => effects.find((e) => e.type === 'command-refused');

/** Runs the core to `until`, returning the times at which it started anti-entropy syncs. */
function cycleTimes(core: GossipCore, from: number, until: number): { times: number[]; lastTargets: number } {
  const times: number[] = [];
  let lastTargets = 0;
  for (let t = from; t <= until; t += 50) {
    const targets = syncTargets(core.step(t, { type: 'tick' }));
    if (targets.size > 0) {
      times.push(t);
      lastTargets = targets.size;
    }
  }
  return { times, lastTargets };
}

describe('gossip live config', () => {
  test('a new fanout changes how many peers each cycle syncs with', () => {
    const core = makeCore();
    expect(cycleTimes(core, 0, 4_000).lastTargets).toBe(3);
    expect(refusal(core.step(4_000, { type: 'config', config: { fanout: 6 } }))).toBeUndefined();
    expect(core.config.fanout).toBe(6);
    expect(cycleTimes(core, 4_050, 8_000).lastTargets).toBe(6);
  });

  test('a shorter cycle applies at once: cycles come at the new period', () => {
    const core = makeCore();
    cycleTimes(core, 0, 4_000);
    core.step(4_000, { type: 'config', config: { cycleMs: 500 } });
    const { times } = cycleTimes(core, 4_050, 8_000);
    expect(times[0]).toBeLessThanOrEqual(4_500);
    expect(times.length).toBeGreaterThanOrEqual(7);
  });

  test('out of range, unknown or malformed settings are refused and change nothing', () => {
    const core = makeCore();
    const bad: unknown[] = [{ fanout: 0 }, { fanout: 2.5 }, { fanout: 99 }, { cycleMs: -1 }, { cycleMs: Number.NaN }, { probeIntervalMs: 10 }, null, 'fast'];
    for (const config of bad) {
      const effects = core.step(100, { type: 'config', config } as GossipInput);
      const r = refusal(effects);
      expect(r, JSON.stringify(config)).toBeDefined();
      expect(r && r.type === 'command-refused' ? r.reason : '').toMatch(/fanout|cycleMs|only|object/);
    }
    expect(core.config.fanout).toBe(3);
    expect(core.config.cycleMs).toBe(2_000);
    expect(core.view().rejected['command:config']).toBe(bad.length);
  });
});
