// Issue 7, bad input, on the headless Node peer: a record in its file store that is readable
// JSON but not a record the node can use is set aside (src/store/set-aside.ts) like in a tab,
// the peer says so in its log, and it starts clean for that part and joins.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { storeDirName } from '../../src/node/data-dir.ts';
import { FileStorage } from '../../src/node/file-storage.ts';
import { listSetAside } from '../../src/store/set-aside.ts';
import { NodePeerProcess, signalingForPeers } from './cli-process.ts';

describe('Node peer with damaged stored records', () => {
  const { peers, url } = signalingForPeers();

  test('sets them aside, logs which and why, keeps its id, and joins', async () => {
    const first = NodePeerProcess.start('set-aside', url());
    peers.push(first);
    await first.waitFor((s) => s.id !== null && s.signaling === 'joined', 'the peer joined');
    const id = first.id;
    first.signal('SIGTERM');
    expect((await first.exited).code).toBe(0);

    const store = new FileStorage(join(first.dataDir, storeDirName), { durable: false });
    expect(await store.keys('gossip/')).toContain('gossip/self');
    await store.set('gossip/self', { v: 1, id: 'someone else', inc: -1 });
    await store.set('gossip/mem/colour', 'not a memory entry');

    const again = NodePeerProcess.start('set-aside', url(), { dataDir: first.dataDir });
    peers.push(again);
    const other = NodePeerProcess.start('set-aside', url());
    peers.push(other);
    await again.waitFor((s) => s.id !== null && s.signaling === 'joined', 'the damaged peer joined again');
    expect(again.id).toBe(id);
    const problems = again.events.filter((e) => e.event === 'storage-problem').map((e) => String(e['message']));
    expect(
      problems.some((m) => /stored record gossip\/self set aside as corrupt\/gossip\/self@\d+: /.test(m)),
      problems.join('\n'),
    ).toBe(true);
    expect(
      problems.some((m) => /stored record gossip\/mem\/colour set aside/.test(m)),
      problems.join('\n'),
    ).toBe(true);
    await other.waitFor((s) => s.id !== null, 'the other peer started');
    await again.waitFor((s) => s.links.has(other.id) && s.members.get(other.id) === 'alive', 'the damaged peer linked to the other', 30_000);
    await other.waitFor((s) => s.members.get(id) === 'alive', 'the other sees it alive', 30_000);
    again.signal('SIGTERM');
    await again.exited;
    const kept = await listSetAside(new FileStorage(join(first.dataDir, storeDirName), { durable: false }));
    expect(kept.map((r) => r.key).sort()).toEqual(['gossip/mem/colour', 'gossip/self']);
  }, 90_000);
});
