// The consensus batch size as a live setting (src/worker/services/settings.ts): checked against
// its range on both sides (the form uses checkSettings too), handed to the consensus service's
// setBatchSize, shown in the settings in force, refused — and counted, changing nothing — out
// of range or where no consensus runs.
import { describe, expect, test } from 'vitest';
import { fakeServiceContext } from './fake-service-context.ts';
import { createRng } from '../../src/core/rng.ts';
import { defaultPbftParams, maxBatchRequestsOnWire } from '../../src/core/pbft/index.ts';
import type { Service, ServiceContext } from '../../src/worker/service.ts';
import { GossipService } from '../../src/worker/services/gossip.ts';
import { OverlayService } from '../../src/worker/services/overlay.ts';
import type { PbftService } from '../../src/worker/services/pbft.ts';
import { SettingsService } from '../../src/worker/services/settings.ts';
import { checkSettings } from '../../src/worker/services/settings-schema.ts';

/** Stands in for the consensus service: records what it was told. */
function fakePbft() {
  const calls: number[] = [];
  const pbft = {
    setBatchSize: (n: number) => {
      calls.push(n);
      return n;
    },
    consensus: () => ({ byzantine: null }),
    commands: { setByzantine: () => true },
  };
  return { pbft: pbft as unknown as PbftService, calls };
}

async function settingsNode(withConsensus: boolean) {
  const rejected: string[] = [];
  const ctx = (service: Service): ServiceContext =>
    fakeServiceContext(() => 1_700_000_000_000, 5, { rng: createRng(5).fork(service.protocol), reject: (reason: string) => void rejected.push(reason) });
  const gossip = new GossipService();
  const overlay = new OverlayService();
  const fake = fakePbft();
  const settings = new SettingsService(withConsensus ? { gossip, overlay, pbft: fake.pbft } : { gossip, overlay });
  for (const s of [overlay, gossip, settings] as Service[]) await s.start(ctx(s));
  return { settings, calls: fake.calls, rejected, set: (change: unknown) => settings.commands.setSettings([change]) };
}

describe('batch size setting', () => {
  test('starts at the default, applies live through the consensus service and shows in force', async () => {
    const n = await settingsNode(true);
    expect(n.settings.commands.settings().batchSize).toBe(defaultPbftParams.maxBatchRequests);
    expect(n.set({ batchSize: 4 }).batchSize).toBe(4);
    expect(n.calls).toEqual([4]);
    expect((n.settings.snapshot().settings as { batchSize: number }).batchSize).toBe(4);
    // Other settings leave it alone.
    expect(n.set({ fanout: 2 })).toMatchObject({ fanout: 2, batchSize: 4 });
    expect(n.calls).toEqual([4]);
    expect(n.set({ batchSize: maxBatchRequestsOnWire }).batchSize).toBe(maxBatchRequestsOnWire);
  });

  test('out of range or not whole: refused with the range, counted, nothing applied', async () => {
    const n = await settingsNode(true);
    for (const bad of [0, -3, maxBatchRequestsOnWire + 1, 2.5, '8', null]) {
      expect(() => n.set({ batchSize: bad }), String(bad)).toThrow(`Batch size must be a whole number from 1 to ${maxBatchRequestsOnWire}`);
    }
    expect(n.calls).toEqual([]);
    expect(n.rejected).toHaveLength(6);
    expect(n.settings.commands.settings().batchSize).toBe(defaultPbftParams.maxBatchRequests);
  });

  test('a node without consensus refuses it rather than ignoring it, and applies nothing of that change', async () => {
    const n = await settingsNode(false);
    expect(() => n.set({ batchSize: 4, fanout: 6 })).toThrow(/runs no consensus/);
    expect(n.settings.commands.settings()).toMatchObject({ fanout: 3, batchSize: defaultPbftParams.maxBatchRequests });
  });

  test('the form check (checkSettings) gives the same message as the node', () => {
    expect(checkSettings({ batchSize: 0 })).toEqual({ ok: false, error: `Batch size must be a whole number from 1 to ${maxBatchRequestsOnWire} (got 0)` });
    expect(checkSettings({ batchSize: 16 })).toEqual({ ok: true, value: { batchSize: 16 } });
  });
});
