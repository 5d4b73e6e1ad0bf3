// The health and settings services on real gossip and overlay services with a fake node
// context: the score is present and in [0, 1], settings apply to the services that own them,
// and bad settings are refused with a reason and counted, changing nothing.
import { describe, expect, test } from 'vitest';
import { fakeServiceContext } from '../../unit/fake-service-context.ts';
import { createRng } from '../../../src/core/rng.ts';
import type { Millis, NodeId } from '../../../src/core/types.ts';
import type { Service, ServiceContext } from '../../../src/worker/service.ts';
import { GossipService } from '../../../src/worker/services/gossip.ts';
import { OverlayService } from '../../../src/worker/services/overlay.ts';
import { HealthService, type HealthView } from '../../../src/worker/services/health.ts';
import { SettingsService } from '../../../src/worker/services/settings.ts';
import { checkSettings, type MeshSettings } from '../../../src/worker/services/settings-schema.ts';
import { healthWeights } from '../../../src/core/health/index.ts';
import type { ConsensusView } from '../../../src/worker/services/pbft-snapshot.ts';
import type { MemberStatus } from '../../../src/core/gossip/index.ts';
import { gossipWithTable } from '../../unit/sampled-gossip.ts';

async function node() {
  let now: Millis = 1_700_000_000_000;
  const rejected = new Map<string, number>();
  const self = 'n-self' as NodeId;
  const ctxFor = (service: Service): ServiceContext =>
    fakeServiceContext(() => now, 3, {
      self,
      rng: createRng(3).fork(service.protocol),
      reject: (reason) => rejected.set(`${service.protocol}: ${reason}`, (rejected.get(`${service.protocol}: ${reason}`) ?? 0) + 1),
    });
  const gossip = new GossipService();
  const overlay = new OverlayService();
  const health = new HealthService({ gossip, overlay });
  const settings = new SettingsService({ gossip, overlay });
  for (const s of [overlay, gossip, health, settings] as Service[]) await s.start(ctxFor(s));
  return {
    gossip,
    overlay,
    health,
    settings,
    rejected,
    advance(ms: number) {
      now += ms;
      for (const s of [overlay, gossip, health] as Service[]) if ((s.nextWakeAt?.() ?? Infinity) <= now) s.tick?.(now);
    },
    set: (change: unknown) => settings.commands.setSettings([change]),
  };
}

describe('health service', () => {
  test('a lone node shows a score in [0, 1] whose shares add up, with no consensus counted as absent', async () => {
    const n = await node();
    n.advance(2_000);
    const health = n.health.snapshot().health as HealthView;
    expect(health.score).toBeGreaterThan(0);
    expect(health.score).toBeLessThanOrEqual(1);
    expect(Object.keys(health.components).sort()).toEqual(Object.keys(healthWeights).sort());
    expect(health.components.quorum).toBe(0);
    expect(health.values.connectivity).toBe(1);
    const sum = Object.values(health.components).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - health.score)).toBeLessThan(0.006);
  });
});

describe('health with a sampled member table (a room larger than gossip holds)', () => {
  // Four replicas (f = 1, quorum 3): this node and a, b, c. The consensus part is what health reads of it.
  const consensus = { status: 'replica', mode: 'normal', halted: null, replicas: ['n-self', 'a', 'b', 'c'], f: 1, quorum: 3, viewChanges: 0, rejected: {} };
  async function quorumWith(members: Array<[string, MemberStatus]>, sampled: boolean): Promise<number> {
    const n = await node();
    const gossip = gossipWithTable(n.gossip, [['n-self', 'alive'], ...members], sampled);
    const health = new HealthService({ gossip, overlay: n.overlay, consensus: () => consensus as unknown as ConsensusView });
    await health.start(fakeServiceContext(() => 1_700_000_000_000, 5));
    return (health.snapshot().health as HealthView).values.quorum;
  }

  test('replicas rotated out of the sample are not counted as down', async () => {
    // Held whole, a replica missing from the table is gone: 2 of 4 alive, below the quorum.
    expect(await quorumWith([['a', 'alive']], false)).toBe(0.25);
    // Sampled, b and c are merely outside the sample: all four count, f to spare.
    expect(await quorumWith([['a', 'alive']], true)).toBe(1);
  });

  test('a replica the sample holds as dead, departed or suspect still counts as down', async () => {
    expect(
      await quorumWith(
        [
          ['a', 'alive'],
          ['b', 'dead'],
        ],
        true,
      ),
    ).toBe(0.75);
    expect(
      await quorumWith(
        [
          ['a', 'left'],
          ['b', 'suspect'],
        ],
        true,
      ),
    ).toBe(0.25);
  });
});

describe('settings service', () => {
  test('fanout, cycle and link bounds apply to gossip and the overlay and show in the snapshot', async () => {
    const n = await node();
    const applied = n.set({ fanout: 5, gossipCycleMs: 500, minLinks: 2, maxLinks: 7 });
    expect(applied).toEqual<MeshSettings>({ fanout: 5, gossipCycleMs: 500, minLinks: 2, maxLinks: 7, batchSize: 32, byzantine: null });
    expect((n.overlay.snapshot().overlay as { config: unknown }).config).toEqual({ minLinks: 2, maxLinks: 7 });
    expect(n.settings.snapshot().settings).toEqual(applied);
    expect(n.settings.commands.settings()).toEqual(applied);
    // A later partial change keeps the rest.
    expect(n.set({ maxLinks: 4 })).toMatchObject({ minLinks: 2, maxLinks: 4, fanout: 5 });
  });

  test('out-of-range, unknown and malformed settings are refused with a reason and counted', async () => {
    const n = await node();
    const before = n.settings.commands.settings();
    const bad: Array<[unknown, RegExp]> = [
      [{ fanout: 0 }, /fanout.*1 to 8/i],
      [{ fanout: 3.5 }, /whole number/],
      [{ gossipCycleMs: 50 }, /cycle.*250 to 10000/i],
      [{ minLinks: 6, maxLinks: 4 }, /must not exceed/],
      [{ minLinks: 6 }, /must not exceed/],
      [{ byzantine: 'evil' }, /byzantine must be null/],
      [{ fanOut: 3 }, /unknown setting "fanOut"/],
      [null, /must be an object/],
      [[1, 2], /must be an object/],
    ];
    for (const [change, reason] of bad) expect(() => n.set(change), JSON.stringify(change)).toThrow(reason);
    expect(n.settings.commands.settings()).toEqual(before);
    expect(n.rejected.get('settings: refused setting')).toBe(bad.length);
  });

  test('Byzantine mode without a consensus service is refused, not ignored', async () => {
    const n = await node();
    expect(() => n.set({ byzantine: 'silent' })).toThrow(/no consensus/);
  });

  test('checkSettings accepts every in-range value and keeps only what was given', () => {
    expect(checkSettings({ fanout: 8, gossipCycleMs: 250, byzantine: null })).toEqual({ ok: true, value: { fanout: 8, gossipCycleMs: 250, byzantine: null } });
    expect(checkSettings({})).toEqual({ ok: true, value: {} });
  });
});
