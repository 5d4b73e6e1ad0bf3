// The gossip service in a tab (ctx.publishMemory given): the page gets the whole memory once at
// start, then each change as a delta at the end of the task that made it, and snapshots carry
// no memory. Without publishMemory (a Node peer), snapshots carry the memory as before.
import { describe, expect, test } from 'vitest';
import { GossipService } from '../../src/worker/services/gossip.ts';
import { decodeWorkerToPage, type MemoryMessage } from '../../src/worker/protocol.ts';
import type { NodeId } from '../../src/core/types.ts';
import { fakeServiceContext } from './fake-service-context.ts';

const self = `${'B'.repeat(42)}A` as NodeId;

async function started(publish?: (m: MemoryMessage) => void): Promise<GossipService> {
  const service = new GossipService();
  await service.start(fakeServiceContext(() => 1_000, 1, { self, ...(publish ? { publishMemory: publish } : {}) }));
  return service;
}

describe('memory from the gossip service to the page', () => {
  test('a reset at start, then deltas (a delete has no value), every message valid for the page', async () => {
    const posted: MemoryMessage[] = [];
    const service = await started((m) => posted.push(m));
    expect(posted).toEqual([{ type: 'memory', reset: true, changes: [] }]);
    service.commands.setMemory(['a', 1]);
    service.commands.setMemory(['b', { x: 2 }]);
    expect(posted).toHaveLength(1); // not yet: the changes of one task go together
    await Promise.resolve();
    expect(posted[1]).toMatchObject({
      reset: false,
      changes: [
        { key: 'a', value: 1, origin: self },
        { key: 'b', value: { x: 2 }, origin: self },
      ],
    });
    service.commands.deleteMemory(['a']);
    await Promise.resolve();
    expect(posted[2]?.changes).toEqual([{ key: 'a', origin: self, hlc: expect.any(String) }]);
    for (const m of posted) expect(decodeWorkerToPage(m).ok).toBe(true);
    const snapshot = service.snapshot();
    expect('memory' in snapshot).toBe(false);
    expect('memoryEntries' in snapshot).toBe(false);
    expect(service.get('b')?.value).toEqual({ x: 2 });
  });

  test('without publishMemory (a Node peer) the snapshot carries the memory', async () => {
    const service = await started();
    service.commands.setMemory(['a', 1]);
    expect(service.snapshot()).toMatchObject({ memory: { a: 1 }, memoryEntries: [{ key: 'a', value: 1, origin: self }] });
  });
});
