// The live demo's switch, through the service: a node turned Byzantine with setByzantine, real
// signatures, and the honest nodes keep agreeing (or, with more than f faulty, halt and say why).
import { describe } from 'vitest';
import type { NodeId } from '../../../src/core/types.ts';
import { expect, Room, scenarioTest, type RoomNode } from './room.ts';

async function four(seed: number): Promise<{ room: Room; nodes: RoomNode[] }> {
  const room = new Room(seed);
  const nodes = [await room.add()];
  await room.runUntil(() => room.view(nodes[0]!.id).status === 'replica', 'founded');
  for (let i = 0; i < 3; i++) nodes.push(await room.add());
  await room.runUntil(() => nodes.every((n) => room.view(n.id).n === 4), 'four replicas', 60_000);
  await room.until(room.propose(nodes[1]!.id, 'warm-up'), 'a first proposal commits');
  return { room, nodes };
}

const setByzantine = (room: Room, id: NodeId, mode: string | null) => room.node(id).service.commands.setByzantine([mode]);
const sameLogs = (room: Room, ids: NodeId[]) => new Set(ids.map((id) => JSON.stringify(room.view(id).log))).size === 1;

describe('Byzantine nodes, through the service', () => {
  scenarioTest('a forging replica: honest runtimes refuse its signatures, and the others commit', async (seed) => {
    const { room, nodes } = await four(seed);
    const forger = nodes.find((n) => room.view(n.id).primary !== n.id)!;
    const honest = nodes.filter((n) => n !== forger).map((n) => n.id);
    setByzantine(room, forger.id, 'forge');
    const seqs = await room.until(Promise.all(honest.map((id, i) => room.propose(id, `honest ${i}`))), 'honest proposals commit');
    await room.runUntil(() => honest.every((id) => room.view(id).lastCommitted >= Math.max(...seqs)), 'executed everywhere');
    expect(sameLogs(room, honest)).toBe(true);
    const refused = honest.reduce((sum, id) => sum + (room.view(id).rejected['runtime: bad signature'] ?? 0), 0);
    expect(refused).toBeGreaterThan(0);
    expect(room.view(forger.id).byzantine).toBe('forge');
    expect(room.view(forger.id).events.some((e) => e.kind === 'byzantine')).toBe(true);
  });

  scenarioTest('an equivocating primary is replaced by a view change, and the other three commit alike', async (seed) => {
    const { room, nodes } = await four(seed);
    const primary = room.view(nodes[0]!.id).primary as NodeId;
    const honest = nodes.map((n) => n.id).filter((id) => id !== primary);
    setByzantine(room, primary, 'equivocate');
    for (const [i, id] of honest.entries()) await room.until(room.propose(id, `after equivocation ${i}`), `proposal ${i} commits`);
    await room.runUntil(() => sameLogs(room, honest) && honest.every((id) => room.view(id).lastCommitted === room.view(honest[0]!).lastCommitted), 'same logs');
    for (const id of honest) {
      expect(room.view(id).viewChanges).toBeGreaterThanOrEqual(1);
      expect(room.view(id).primary).not.toBe(primary);
      expect(room.view(id).events.some((e) => e.kind === 'view-change')).toBe(true);
    }
    expect(
      room
        .view(honest[0]!)
        .log.filter((e) => e.op.kind === 'decision')
        .map((e) => e.op),
    ).toHaveLength(4);
  });

  scenarioTest('two silent replicas of four: the honest two halt and say why, then recover when one is honest again', async (seed) => {
    const { room, nodes } = await four(seed);
    const [a, b, c, d] = nodes.map((n) => n.id) as [NodeId, NodeId, NodeId, NodeId];
    setByzantine(room, c, 'silent');
    setByzantine(room, d, 'silent');
    const stuck = room.propose(a, 'needs three');
    let settled = false;
    stuck.then(
      () => (settled = true),
      () => (settled = true),
    );
    await room.runUntil(() => room.view(a).halted !== null && room.view(b).halted !== null, 'the honest nodes report a halt', 20_000);
    expect(settled).toBe(false);
    expect(room.view(a).halted).toMatch(/request|faulty|view/);
    setByzantine(room, c, null);
    const seq = await room.until(stuck, 'the proposal commits once three replicas are honest', 30_000);
    await room.runUntil(() => [a, b, c].every((id) => room.view(id).lastCommitted >= seq), 'the three executed it', 30_000);
    expect(sameLogs(room, [a, b])).toBe(true);
    expect(room.view(a).halted).toBeNull();
  });

  scenarioTest('setByzantine refuses modes it does not know', async (seed) => {
    const room = new Room(seed);
    const a = await room.add();
    expect(() => setByzantine(room, a.id, 'evil')).toThrow(/silent, equivocate, wrong-digest, forge, replay, delay/);
    expect(setByzantine(room, a.id, 'delay')).toBe(true);
    expect(setByzantine(room, a.id, null)).toBe(true);
  });
});
