// The runtime's snapshot pacing (src/worker/snapshot-pacer.ts): news is posted at once, a change
// only in drifting counters waits until volatileRefreshMs after the last post, and the key that
// tells them apart ignores volatile fields at any depth but nothing else.
import { describe, expect, test } from 'vitest';
import { SnapshotPacer, lastingKey, pageLastingKey, volatileRefreshMs } from '../../src/worker/snapshot-pacer.ts';

const snap = (o: { peers?: string[]; rtt?: number; sent?: number; memory?: Record<string, unknown>; updatedAt?: number }) => ({
  links: (o.peers ?? ['a', 'b']).map((peer) => ({ peer, rttMs: o.rtt ?? 1, upForMs: 1000 })),
  gossip: { msgsSent: o.sent ?? 0, peerAgreement: 1 },
  memory: o.memory ?? {},
  statusRecord: { updated_at: o.updatedAt ?? 0, mesh_topology: { total_active_nodes: 3 } },
});

describe('snapshot pacer', () => {
  test('volatile fields do not change the key; anything else does', () => {
    expect(lastingKey(snap({ rtt: 1, sent: 5, updatedAt: 1 }))).toBe(lastingKey(snap({ rtt: 9, sent: 50, updatedAt: 2 })));
    expect(lastingKey(snap({ peers: ['a'] }))).not.toBe(lastingKey(snap({ peers: ['a', 'b'] })));
    expect(lastingKey(snap({ memory: { k: 1 } }))).not.toBe(lastingKey(snap({ memory: { k: 2 } })));
  });

  test("the page's key skips the memory copy (its fingerprint in gossip says when it changed)", () => {
    expect(pageLastingKey(snap({ memory: { k: 1 } }))).toBe(pageLastingKey(snap({ memory: { k: 2 } })));
    const withPrint = (memoryFingerprint: string) => ({ ...snap({}), gossip: { msgsSent: 0, memoryFingerprint } });
    expect(pageLastingKey(withPrint('aa'))).not.toBe(pageLastingKey(withPrint('bb')));
  });

  test('news goes out at once; counters only once per volatileRefreshMs', () => {
    const pacer = new SnapshotPacer();
    expect(pacer.decide(snap({}), 0)).toEqual({ post: true });
    expect(pacer.decide(snap({ rtt: 2, sent: 3 }), 150)).toEqual({ post: false, dueAt: volatileRefreshMs });
    expect(pacer.decide(snap({ rtt: 3, sent: 4 }), 600)).toEqual({ post: false, dueAt: volatileRefreshMs });
    // A memory write is news, however soon.
    expect(pacer.decide(snap({ rtt: 3, sent: 4, memory: { hello: 'mesh' } }), 700)).toEqual({ post: true });
    expect(pacer.decide(snap({ rtt: 4, sent: 5, memory: { hello: 'mesh' } }), 800)).toEqual({ post: false, dueAt: 700 + volatileRefreshMs });
    expect(pacer.decide(snap({ rtt: 4, sent: 6, memory: { hello: 'mesh' } }), 700 + volatileRefreshMs)).toEqual({ post: true });
    expect(pacer.counts).toEqual({ posted: 3, held: 3 });
  });

  test('the ratios and scores an idle room recomputes every few seconds are not news (bench:idle found them posted once a second)', () => {
    const drifting = (agreement: number, score: number, advertSeq: number, framesIn: number) => ({
      ...snap({}),
      gossip: { peerAgreement: agreement },
      health: { score, components: { convergence: score / 2 }, values: { convergence: agreement } },
      overlay: { advertSeq },
      framesIn: { 'gossip/ping': framesIn },
      snapshotsPaced: { posted: framesIn, held: 0 },
    });
    const pacer = new SnapshotPacer();
    expect(pacer.decide(drifting(0.94, 0.895, 1, 1), 0)).toEqual({ post: true });
    expect(pacer.decide(drifting(0.95, 0.896, 2, 9), 1_000)).toEqual({ post: false, dueAt: volatileRefreshMs });
    // A link that goes away is news at once, whatever drifted with it.
    expect(pacer.decide({ ...drifting(0.96, 0.7, 3, 12), links: [] }, 1_100)).toEqual({ post: true });
  });
});
