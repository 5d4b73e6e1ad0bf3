// Bad consensus input at a node's boundary, in whole real nodes (real-room.ts): forged, replayed,
// wrongly addressed, wrong-digest, malformed and foreign-genesis frames arrive on a link from a
// peer and go through the node's real receive path; each is refused with a reason, counted in
// snapshot().consensus.rejected and the node's refusal list, and never changes what it commits.
import { describe, expect } from 'vitest';
import { decodeFrame } from '../../../src/core/envelope.ts';
import type { PbftMessage } from '../../../src/core/pbft/index.ts';
import type { NodeId } from '../../../src/core/types.ts';
import type { SimNode } from '../../sim/real-node/real-cluster.ts';
import type { RealRoom } from '../../sim/real-node/real-room.ts';
import { roomTest } from '../../sim/real-node/real-room.ts';

interface Captured {
  from: NodeId;
  to: NodeId;
  frame: { g: string; m: PbftMessage };
}

/** Four replicas that committed a first proposal, with the consensus frames that crossed their links. */
async function fourWithCapture(room: RealRoom): Promise<{ nodes: SimNode[]; seen: Captured[] }> {
  const seen: Captured[] = [];
  room.cluster.network.tap = (from, to, bytes) => {
    const frame = decodeFrame(bytes);
    if (seen.length < 4_000 && frame.ok && frame.value.p === 'pbft') seen.push({ from, to, frame: structuredClone(frame.value.m) as Captured['frame'] });
  };
  const nodes = await room.replicaRoom(4);
  const seq = await room.until(room.propose(nodes[1]!, 'first'), 'a proposal commits');
  // The proposer may know first (its own replica's execution settles it): wait for everyone.
  await room.runUntil(() => nodes.every((n) => room.consensus(n).lastCommitted >= seq), 'every node executed it');
  return { nodes, seen };
}

describe('refused consensus input', () => {
  roomTest('forged, replayed, misaddressed, wrong-digest, malformed and foreign frames are counted and change nothing', async (room) => {
    const { nodes, seen } = await fourWithCapture(room);
    const target = nodes[3]!;
    const byId = (id: NodeId) => nodes.find((n) => n.id === id)!;
    const refusedHere = (reason: string) => room.consensus(target).rejected[reason] ?? 0;
    const listed = (reason: string) => room.rejected(target)[`pbft: ${reason}`] ?? 0;
    const logBefore = JSON.stringify(room.consensus(target).log);
    const latest = (type: string, to = target.id) => {
      for (let i = seen.length - 1; i >= 0; i--) if (seen[i]!.to === to && seen[i]!.frame.m.body.type === type) return seen[i]!;
      throw new Error(`no ${type} frame to ${to} captured`);
    };
    const send = (from: NodeId, message: unknown) => room.injectMessage(target, byId(from), 'pbft', message);

    // Forged: a real commit with its digest changed, and the signature kept.
    const commit = latest('commit');
    const forged = structuredClone(commit.frame);
    (forged.m.body as { digest: string }).digest = 'f'.repeat(64);
    send(commit.from, forged);
    // Forged: a prepare claiming another signer.
    const prepare = latest('prepare');
    const impostor = structuredClone(prepare.frame);
    impostor.m.signer = nodes.find((n) => n.id !== prepare.frame.m.signer && n.id !== target.id)!.id;
    send(prepare.from, impostor);
    // Replayed: the same valid messages again.
    send(commit.from, structuredClone(commit.frame));
    send(prepare.from, structuredClone(prepare.frame));
    // Wrong digest: the primary's pre-prepare with another batch attached (the batch is not signed, its digest is).
    const pp = latest('pre-prepare');
    const swapped = structuredClone(pp.frame);
    swapped.m.batch = [];
    send(pp.from, swapped);
    // Wrongly addressed: a reply meant for another client, sent on by a peer linked to the target.
    const reply = seen.find((s) => s.frame.m.body.type === 'reply' && s.to !== target.id && s.from !== target.id);
    if (reply) send(reply.from, structuredClone(reply.frame));
    // Malformed, and from a node that follows another genesis.
    send(commit.from, { g: commit.frame.g, m: { body: { type: 'commit' }, signer: 'x', sig: 'y' } });
    send(commit.from, 'not a frame');
    send(commit.from, { ...structuredClone(commit.frame), g: '0123456789abcdef' });
    await room.runFor(500);

    expect(refusedHere('runtime: bad signature')).toBe(2);
    expect(refusedHere('runtime: malformed message')).toBe(1);
    expect(refusedHere('runtime: malformed frame')).toBe(1);
    expect(refusedHere('runtime: other genesis')).toBe(1);
    expect(refusedHere('wrong-digest')).toBeGreaterThanOrEqual(1);
    expect(refusedHere('duplicate') + refusedHere('old-view') + refusedHere('outside-watermarks')).toBeGreaterThanOrEqual(2);
    if (reply) expect(refusedHere('not-for-me')).toBeGreaterThanOrEqual(1);
    // The same refusals reach the node's own refusal list (the runtime's, by protocol), core reasons included.
    expect(listed('bad signature')).toBe(2);
    expect(listed('other genesis')).toBe(1);
    expect(listed('wrong-digest')).toBeGreaterThanOrEqual(1);
    // Nothing of it was applied: the log is unchanged and the node still agrees with the others.
    expect(JSON.stringify(room.consensus(target).log)).toBe(logBefore);
    const seq = await room.until(room.propose(nodes[0]!, 'after the junk'), 'the room still commits');
    await room.runUntil(() => room.consensus(target).lastCommitted >= seq, 'the target executed it');
    expect(room.consensus(target).log.map((e) => e.digest)).toEqual(room.consensus(nodes[0]!).log.map((e) => e.digest));
  });

  roomTest('a forged genesis record in gossip memory is refused and does not make anyone start over', async (room) => {
    const [a, b] = (await room.replicaRoom(2)) as [SimNode, SimNode];
    const real = room.consensus(a).genesis!;
    // A page writes an older genesis record in b's name into the room's memory, without b's key.
    room.command(b, 'setMemory', 'pbft/genesis', {
      body: { type: 'pbft-genesis', v: 1, room: 'scenario', founder: b.id, foundedAt: real.foundedAt - 60_000 },
      sig: 'A'.repeat(85) + 'A',
    });
    // What the page shows of the room's memory (a Node peer's snapshot carries it whole).
    const memoryFounder = (node: SimNode) => (room.snapshot(node).memory as Record<string, { body?: { founder?: string } }>)['pbft/genesis']?.body?.founder;
    await room.runFor(4_000);
    for (const n of [a, b]) {
      expect(room.consensus(n).genesis?.id).toBe(real.id);
      expect(room.consensus(n).genesis?.resets).toBe(0);
    }
    // b saw it first (its own memory) and refused it, and wrote the real record back over it.
    expect(room.consensus(b).rejected['runtime: forged genesis record in gossip memory']).toBeGreaterThanOrEqual(1);
    expect(room.rejected(b)['pbft: forged genesis record in gossip memory']).toBeGreaterThanOrEqual(1);
    await room.runUntil(() => [a, b].every((n) => memoryFounder(n) === a.id), 'the real record is back in the memory everywhere');
  });
});
