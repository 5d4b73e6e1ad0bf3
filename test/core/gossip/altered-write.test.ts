// A write altered on the way by a Byzantine relay claims a position (origin, version) that its
// copies already hold, so digests of marks cannot show it: found by the VOPR (seed 47 at 150
// ticks), where n0 held its own `k15` and the six others held also a `w15` in n0's name (a key
// byte flipped by a flooder), marks equal everywhere, memory apart 120 s after the heal.
// Anti-entropy now resends a stretch of one origin when a peer's marks equal ours and its
// fingerprint does not (memory.ts, `rewound`), so the honest nodes agree again.
import { describe, expect, test } from 'vitest';
import { GossipCore } from '../../../src/core/gossip/core.ts';
import type { GossipEffect } from '../../../src/core/gossip/types.ts';
import { createRng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';

const a = 'nodeA' as NodeId;
const b = 'nodeB' as NodeId;
const relay = 'nodeR' as NodeId;

type Send = Extract<GossipEffect, { type: 'send' }>;

/** Two honest cores linked to each other (and to the relay, which only speaks when told). */
function pair(seed: number): { cores: Map<NodeId, GossipCore>; run: (from: number, to: number) => void; sent: Send[] } {
  const sent: Send[] = [];
  const cores = new Map<NodeId, GossipCore>();
  for (const id of [a, b]) cores.set(id, new GossipCore({ id, rng: createRng(seed + id.length), now: 0, peers: [a, b, relay].filter((p) => p !== id) }));
  /** Runs both cores from `from` to `to` ms in 50 ms steps, delivering what each sends the other at once. */
  const run = (from: number, to: number) => {
    for (let now = from; now < to; now += 50) {
      const queue: Array<{ from: NodeId; send: Send }> = [];
      for (const [id, core] of cores) for (const e of core.step(now, { type: 'tick' })) if (e.type === 'send') queue.push({ from: id, send: e });
      while (queue.length > 0) {
        const { from: sender, send } = queue.shift() as { from: NodeId; send: Send };
        sent.push(send);
        const target = cores.get(send.to);
        if (!target) continue;
        for (const e of target.step(now, { type: 'message', from: sender, msg: send.msg, bytes: send.bytes }))
          if (e.type === 'send') queue.push({ from: send.to, send: e });
      }
    }
  };
  return { cores, run, sent };
}

describe('a write altered on the way (same origin and version, another key)', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    test(`seed ${seed}: the honest nodes end with the same memory`, () => {
      const { cores, run, sent } = pair(seed);
      const coreA = cores.get(a) as GossipCore;
      const coreB = cores.get(b) as GossipCore;
      run(0, 2_000);
      coreA.step(2_000, { type: 'set-memory', key: 'k15', value: 'v24' });
      run(2_000, 30_000);
      expect(coreB.get('k15')?.value).toBe('v24');
      const written = sent.flatMap((s) => ('e' in s.msg ? (s.msg.e ?? []) : [])).find((e) => e.k === 'k15');
      expect(written).toMatchObject({ o: a, n: 1 });
      // Later (no longer fresh news, which B would push on to A at once), the relay passes A's
      // write on with one byte of the key changed: same origin, version and clock.
      const altered = { ...(written as NonNullable<typeof written>), k: 'w15' };
      coreB.step(30_000, { type: 'message', from: relay, msg: { type: 'news', e: [altered] }, bytes: 80 });
      expect(coreB.get('w15')?.value).toBe('v24');
      expect(coreA.get('w15')).toBeUndefined();
      expect(coreA.memoryFingerprint).not.toBe(coreB.memoryFingerprint);
      run(30_000, 70_000);
      expect(coreA.get('w15')?.value).toBe('v24');
      expect(coreA.get('k15')?.value).toBe('v24');
      expect(coreA.memoryFingerprint).toBe(coreB.memoryFingerprint);
    });
  }
});
