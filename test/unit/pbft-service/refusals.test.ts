// Bad consensus input at a node's boundary: forged, replayed, wrongly addressed, wrong-digest,
// malformed and foreign-genesis frames are refused with a reason, counted in
// snapshot().consensus.rejected and the node's refusal list, and never change what it commits.
import { describe } from 'vitest';
import type { PbftMessage } from '../../../src/core/pbft/index.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { expect, Room, scenarioTest, type RoomNode } from './room.ts';

interface Captured {
  from: NodeId;
  to: NodeId;
  frame: { g: string; m: PbftMessage };
}

async function fourWithCapture(seed: number): Promise<{ room: Room; nodes: RoomNode[]; seen: Captured[] }> {
  const room = new Room(seed);
  const seen: Captured[] = [];
  room.intercept = (from, to, message) => {
    if (seen.length < 2_000) seen.push({ from, to, frame: structuredClone(message) as Captured['frame'] });
    return message;
  };
  const nodes = [await room.add()];
  await room.runUntil(() => room.view(nodes[0]!.id).status === 'replica', 'founded');
  for (let i = 0; i < 3; i++) nodes.push(await room.add());
  await room.runUntil(() => nodes.every((n) => room.view(n.id).n === 4), 'four replicas', 60_000);
  const seq = await room.until(room.propose(nodes[1]!.id, 'first'), 'a proposal commits');
  // The proposer may know first (its own replica's execution settles it): wait for everyone.
  await room.runUntil(() => nodes.every((n) => room.view(n.id).lastCommitted >= seq), 'every node executed it');
  return { room, nodes, seen };
}

const refusedHere = (room: Room, node: RoomNode, reason: string) => room.view(node.id).rejected[reason] ?? 0;
const listed = (node: RoomNode, reason: string) => node.rejected.get(reason) ?? 0;

describe('refused consensus input', () => {
  scenarioTest('forged, replayed, misaddressed, wrong-digest, malformed and foreign frames are counted and change nothing', async (seed) => {
    const { room, nodes, seen } = await fourWithCapture(seed);
    const target = nodes[3]!;
    const logBefore = JSON.stringify(room.view(target.id).log);
    const latest = (type: string, to = target.id) => {
      for (let i = seen.length - 1; i >= 0; i--) if (seen[i]!.to === to && seen[i]!.frame.m.body.type === type) return seen[i]!;
      throw new Error(`no ${type} frame to ${to} captured`);
    };

    // Forged: a real commit with its digest changed, and the signature kept.
    const commit = latest('commit');
    const forged = structuredClone(commit.frame);
    (forged.m.body as { digest: string }).digest = 'f'.repeat(64);
    target.service.receive(commit.from, forged);
    // Forged: a prepare claiming another signer.
    const prepare = latest('prepare');
    const impostor = structuredClone(prepare.frame);
    impostor.m.signer = nodes.find((n) => n.id !== prepare.frame.m.signer && n.id !== target.id)!.id;
    target.service.receive(prepare.from, impostor);
    // Replayed: the same valid messages again.
    target.service.receive(commit.from, structuredClone(commit.frame));
    target.service.receive(prepare.from, structuredClone(prepare.frame));
    // Wrong digest: the primary's pre-prepare with another batch attached (the batch is not signed, its digest is).
    const pp = latest('pre-prepare');
    const swapped = structuredClone(pp.frame);
    swapped.m.batch = [];
    target.service.receive(pp.from, swapped);
    // Wrongly addressed: a reply meant for another client.
    const reply = seen.find((s) => s.frame.m.body.type === 'reply' && s.to !== target.id);
    if (reply) target.service.receive(reply.from, structuredClone(reply.frame));
    // Malformed, and from a node that follows another genesis.
    target.service.receive(commit.from, { g: commit.frame.g, m: { body: { type: 'commit' }, signer: 'x', sig: 'y' } });
    target.service.receive(commit.from, 'not a frame');
    target.service.receive(commit.from, { ...structuredClone(commit.frame), g: '0123456789abcdef' });
    await room.runFor(500);

    expect(refusedHere(room, target, 'runtime: bad signature')).toBe(2);
    expect(refusedHere(room, target, 'runtime: malformed message')).toBe(1);
    expect(refusedHere(room, target, 'runtime: malformed frame')).toBe(1);
    expect(refusedHere(room, target, 'runtime: other genesis')).toBe(1);
    expect(refusedHere(room, target, 'wrong-digest')).toBeGreaterThanOrEqual(1);
    expect(
      refusedHere(room, target, 'duplicate') + refusedHere(room, target, 'old-view') + refusedHere(room, target, 'outside-watermarks'),
    ).toBeGreaterThanOrEqual(2);
    if (reply) expect(refusedHere(room, target, 'not-for-me')).toBeGreaterThanOrEqual(1);
    // The same refusals reach the node's own refusal list (ctx.reject), core reasons included.
    expect(listed(target, 'bad signature')).toBe(2);
    expect(listed(target, 'other genesis')).toBe(1);
    expect(listed(target, 'wrong-digest')).toBeGreaterThanOrEqual(1);
    // Nothing of it was applied: the log is unchanged and the node still agrees with the others.
    expect(JSON.stringify(room.view(target.id).log)).toBe(logBefore);
    const seq = await room.until(room.propose(nodes[0]!.id, 'after the junk'), 'the room still commits');
    await room.runUntil(() => room.view(target.id).lastCommitted >= seq, 'the target executed it');
    expect(room.view(target.id).log.map((e) => e.digest)).toEqual(room.view(nodes[0]!.id).log.map((e) => e.digest));
  });

  scenarioTest('a forged genesis record in gossip memory is refused and does not make anyone start over', async (seed) => {
    const room = new Room(seed);
    const a = await room.add();
    await room.runUntil(() => room.view(a.id).status === 'replica', 'founded');
    const b = await room.add();
    await room.runUntil(() => room.view(b.id).n === 2, 'b joined', 30_000);
    // Someone writes an older genesis in b's name without b's key.
    const real = room.view(a.id).genesis!;
    const gossip = (room as unknown as { gossipFor(id: NodeId): { memorySet(k: string, v: unknown): void } }).gossipFor(b.id);
    gossip.memorySet('pbft/genesis', {
      body: { type: 'pbft-genesis', v: 1, room: room.name, founder: b.id, foundedAt: real.foundedAt - 60_000 },
      sig: 'A'.repeat(85) + 'A',
    });
    await room.runFor(4_000);
    for (const n of [a, b]) {
      expect(room.view(n.id).genesis?.id).toBe(real.id);
      expect(room.view(n.id).genesis?.resets).toBe(0);
    }
    // b saw it first (its own gossip memory) and refused it; writing the real record back won the
    // memory again before the forgery reached a.
    expect(room.view(b.id).rejected['runtime: forged genesis record in gossip memory']).toBe(1);
    expect(listed(b, 'forged genesis record in gossip memory')).toBe(1);
    const inMemory = (room as unknown as { gossipFor(id: NodeId): { memoryGet(k: string): unknown } }).gossipFor(a.id).memoryGet('pbft/genesis');
    expect((inMemory as { body: { founder: string } }).body.founder).toBe(a.id);
  });
});
