// Issue 9, fuzzing the mesh: random and mutated frames thrown at a node that runs every
// default service, through the runtime's frame path (peer guard → decodeFrame → the service's
// receive), from a linked peer (a malicious tab). Seeds are real frames the nodes sent each
// other. Properties: nothing throws; every frame the protocol's own decoder refuses is counted
// with a reason by the node; afterwards the mesh still works (consensus still commits, and no
// two nodes hold different operations at one sequence number). SEED=<n> replays the inputs (the
// Ed25519 keys are fresh each run); LONG=1 runs ten times as many frames.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import type { NodeId, ProtocolTag } from '../../src/core/types.ts';
import { decodeFrame, encodeFrame } from '../../src/core/envelope.ts';
import { decodeGossip } from '../../src/core/gossip/messages.ts';
import { decodeOverlayMessage } from '../../src/core/overlay/messages.ts';
import { decodeRouteMessage } from '../../src/core/route/messages.ts';
import { decodeStealMessage } from '../../src/core/steal/messages.ts';
import { decode as decodePbft } from '../../src/core/pbft/messages.ts';
import { decodePbftFrame } from '../../src/worker/services/pbft-wire.ts';
import { defaultPeerGuardLimits, PeerGuard } from '../../src/worker/peer-guard.ts';
import { FuzzMesh, flush, type FuzzNode } from './mesh-harness.ts';
import { damagedBytes, mutant } from './mutate.ts';
import { envSeed, longMode, replayHint } from '../sim/seed.ts';

const protocols: ProtocolTag[] = ['gossip', 'overlay', 'route', 'pbft', 'steal'];
const runs = longMode() ? 3_000 : 300;

/** Whether the protocol's own decoder refuses `m` (the service must then count a refusal). */
function refusedByDecoder(p: ProtocolTag, m: unknown): boolean {
  switch (p) {
    case 'gossip':
      return !decodeGossip(m).ok;
    case 'overlay':
      return decodeOverlayMessage(m) === null;
    case 'route':
      return decodeRouteMessage(m) === null;
    case 'steal':
      return decodeStealMessage(m) === null;
    case 'pbft': {
      const frame = decodePbftFrame(m);
      return !frame.ok || decodePbft(frame.value.m) === null;
    }
    default:
      return false;
  }
}

/** A guard that never cuts the fuzzing peer off, so every frame reaches the services. */
function lenientGuard(mesh: FuzzMesh): PeerGuard {
  const unlimited = { burstMsgs: 1e9, ratePerS: 1e9, floodDropsPerWindow: 1e9, windowMs: 1_000 };
  return new PeerGuard(() => mesh.now, { ...defaultPeerGuardLimits, frames: unlimited, bytes: unlimited, garbage: unlimited });
}

describe('the frame path under random and mutated frames', () => {
  test('nothing throws, every refused message is counted, and the mesh keeps agreeing', async () => {
    const seed = envSeed() ?? 1;
    const mesh = await FuzzMesh.create(4, seed);
    await mesh.run(6_000);
    void mesh.propose(mesh.nodes[2] as FuzzNode, 'before the fuzzing');
    await mesh.run(2_000);
    const target = mesh.nodes[0] as FuzzNode;
    const attacker = (mesh.nodes[1] as FuzzNode).id;
    target.guard = lenientGuard(mesh);
    const seeds = new Map(protocols.map((p) => [p, mesh.captured.get(p) ?? []]));
    // Routing is idle in a full mesh: a hand-made valid-shaped seed stands in.
    seeds.set('route', [{ type: 'flood', origin: attacker, seq: 1, kind: 'gossip', payload: {}, ttl: 3, sig: 'x'.repeat(86) }]);
    for (const p of ['gossip', 'overlay', 'pbft', 'steal'] as const) expect(seeds.get(p)?.length, `captured ${p} frames`).toBeGreaterThan(0);

    const frameArb = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...protocols).chain((p) => mutant(seeds.get(p) as unknown[]).map((m) => ({ p, m, bytes: encodeFrame(p, m) }))) },
      { weight: 2, arbitrary: fc.constantFrom(...protocols).chain((p) => fc.anything().map((m) => ({ p, m, bytes: encodeFrame(p, m) }))) },
      {
        weight: 2,
        arbitrary: fc
          .constantFrom(...protocols)
          .chain((p) => fc.constantFrom(...(seeds.get(p) as unknown[])).chain((m) => damagedBytes(encodeFrame(p, m))))
          .map((bytes) => ({ p: null, m: null, bytes })),
      },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ p: null, m: null, bytes })) },
    );

    const uncounted: string[] = [];
    let refused = 0;
    await fc
      .assert(
        fc.asyncProperty(frameArb, async ({ bytes }) => {
          const before = mesh.rejectedTotal(target);
          const frame = decodeFrame(bytes);
          const mustCount = !frame.ok || (frame.value.p !== 'link' && refusedByDecoder(frame.value.p, frame.value.m));
          mesh.deliver(target, attacker as NodeId, bytes);
          await flush();
          if (mustCount) {
            refused++;
            if (mesh.rejectedTotal(target) <= before && uncounted.length < 5) {
              uncounted.push(frame.ok ? `${frame.value.p}: ${JSON.stringify(frame.value.m).slice(0, 200)}` : 'bad frame');
            }
          }
        }),
        { seed, numRuns: runs, endOnFailure: true },
      )
      .catch((error: unknown) => {
        throw new Error(`${String(error)}\n${replayHint(seed)}`);
      });
    expect(uncounted, `refused messages that no counter saw — ${replayHint(seed)}`).toEqual([]);
    expect(refused).toBeGreaterThan(runs / 4);

    // Every refusal has a reason naming the protocol (or the frame, or the guard).
    for (const reason of target.rejected.keys()) expect(reason).toMatch(/^(gossip|overlay|route|pbft|steal|frame|guard): \S/);

    // The mesh still works: consensus keeps going and every node holds the same committed log.
    void mesh.propose(mesh.nodes[3] as FuzzNode, 'after the fuzzing');
    await mesh.run(6_000);
    expect(mesh.logConflicts(), `committed logs disagree after fuzzing — ${replayHint(seed)}`).toEqual([]);
    expect(mesh.committedLog(target).length, `consensus committed both proposals — ${replayHint(seed)}`).toBeGreaterThanOrEqual(2);
  }, 60_000);
});

describe('the peer guard on the frame path', () => {
  test('a peer that sends garbage is cut off: later frames, even valid ones, are dropped and counted', async () => {
    const seed = envSeed() ?? 2;
    const mesh = await FuzzMesh.create(2, seed);
    await mesh.run(2_000);
    const [target, peer] = mesh.nodes as [FuzzNode, FuzzNode];
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 40, maxLength: 60 }), (junk) => {
        target.guard = new PeerGuard(() => mesh.now);
        target.rejected.clear();
        for (const bytes of junk) mesh.deliver(target, peer.id, new Uint8Array([0xff, ...bytes]));
        expect(target.guard.isKeptOut(peer.id)).toBe(true);
        mesh.deliver(target, peer.id, encodeFrame('link', { type: 'ping', n: 1 }));
        expect(target.rejected.get('guard: drop')).toBeGreaterThan(0);
      }),
      { seed, numRuns: 20 },
    );
  }, 30_000);
});
