// The gossip service as a relay: fresh news from one link leaves for the others within the task
// that received it (no wait for the runtime's next timer turn), and without waiting for the
// relay's own disk write. A writer's own writes still leave only after theirs (memory.ts).
import { describe, expect, test } from 'vitest';
import { GossipService } from '../../src/worker/services/gossip.ts';
import { GossipCore, type GossipEffect } from '../../src/core/gossip/index.ts';
import { createRng } from '../../src/core/rng.ts';
import type { NodeId } from '../../src/core/types.ts';
import type { Storage } from '../../src/store/storage.ts';
import { MemoryStorage } from '../../src/store/memory.ts';
import { fakeServiceContext } from './fake-service-context.ts';

const id = (c: string): NodeId => `${c.repeat(42)}A` as NodeId;
const [writer, relay, far] = [id('B'), id('C'), id('D')];

/** A storage whose writes, while held, stay pending until the test releases them. */
function holdableStorage(): { storage: Storage; hold: () => void; release: () => void } {
  const inner = new MemoryStorage();
  let holding = false;
  const held: Array<() => void> = [];
  const storage: Storage = Object.assign(Object.create(inner) as Storage, {
    setMany: (entries: ReadonlyArray<readonly [string, unknown]>) =>
      holding ? new Promise<void>((resolve) => held.push(() => void inner.setMany(entries).then(resolve))) : inner.setMany(entries),
  });
  return {
    storage,
    hold: () => (holding = true),
    release: () => {
      holding = false;
      held.splice(0).forEach((go) => go());
    },
  };
}

describe('the gossip service passes news on', () => {
  test("a fresh write from one link reaches the relay's other links during the receive call, before its disk write", async () => {
    const a = new GossipCore({ id: writer, rng: createRng(1), now: 1_000, peers: [relay] });
    a.step(1_000, { type: 'tick' });
    a.step(1_001, { type: 'set-memory', key: 'greeting', value: 'hi' });
    const frame = a
      .step(1_001, { type: 'tick' })
      .find((e): e is Extract<GossipEffect, { type: 'send' }> => e.type === 'send' && e.msg.type === 'news' && (e.msg.e?.length ?? 0) > 0);
    expect(frame).toBeDefined();

    const sent: Array<{ to: NodeId; msg: unknown }> = [];
    const { storage, hold, release } = holdableStorage();
    const service = new GossipService();
    await service.start(
      fakeServiceContext(() => 1_002, 7, {
        self: relay,
        storage,
        linkedPeers: () => [writer, far],
        send: (to, msg) => (sent.push({ to, msg }), true),
      }),
    );
    service.linkUp();
    await service.settled();
    sent.length = 0;

    hold();
    service.receive(writer, frame?.msg);
    const news = sent.filter((s) => (s.msg as { type?: string }).type === 'news' && ((s.msg as { e?: unknown[] }).e?.length ?? 0) > 0);
    expect(news.map((s) => s.to)).toEqual([far]);
    expect(service.get('greeting')?.value).toBe('hi');
    // The relay's disk write was still pending all along; it completes afterwards.
    await Promise.resolve();
    release();
    await service.settled();
    expect(await storage.keys('gossip/mem/')).toEqual(['gossip/mem/greeting']);
  });
});
