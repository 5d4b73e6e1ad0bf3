// The live demo's switch, in whole real nodes (real-room.ts): a node turned Byzantine with the
// setByzantine command, and the honest nodes keep agreeing (or, with more than f faulty, halt
// and say why).
import { describe, expect } from 'vitest';
import type { SimNode } from '../../sim/real-node/real-cluster.ts';
import type { RealRoom } from '../../sim/real-node/real-room.ts';
import { roomTest } from '../../sim/real-node/real-room.ts';

async function four(room: RealRoom): Promise<SimNode[]> {
  const nodes = await room.replicaRoom(4);
  await room.until(room.propose(nodes[1]!, 'warm-up'), 'a first proposal commits');
  return nodes;
}

const setByzantine = (room: RealRoom, node: SimNode, mode: string | null) => room.command(node, 'setByzantine', mode);
const sameLogs = (room: RealRoom, nodes: SimNode[]) => new Set(nodes.map((n) => JSON.stringify(room.consensus(n).log))).size === 1;

describe('Byzantine nodes, in whole nodes', () => {
  roomTest('a forging replica: honest runtimes refuse its signatures, and the others commit', async (room) => {
    const nodes = await four(room);
    const forger = nodes.find((n) => room.consensus(n).primary !== n.id)!;
    const honest = nodes.filter((n) => n !== forger);
    setByzantine(room, forger, 'forge');
    const seqs = await room.until(Promise.all(honest.map((n, i) => room.propose(n, `honest ${i}`))), 'honest proposals commit');
    await room.runUntil(() => honest.every((n) => room.consensus(n).lastCommitted >= Math.max(...seqs)), 'executed everywhere');
    expect(sameLogs(room, honest)).toBe(true);
    const refused = honest.reduce((sum, n) => sum + (room.consensus(n).rejected['runtime: bad signature'] ?? 0), 0);
    expect(refused).toBeGreaterThan(0);
    expect(room.consensus(forger).byzantine).toBe('forge');
    expect(room.consensus(forger).events.some((e) => e.kind === 'byzantine')).toBe(true);
  });

  roomTest('an equivocating primary is replaced by a view change, and the other three commit alike', async (room) => {
    const nodes = await four(room);
    const primary = nodes.find((n) => n.id === room.consensus(nodes[0]!).primary)!;
    const honest = nodes.filter((n) => n !== primary);
    setByzantine(room, primary, 'equivocate');
    for (const [i, n] of honest.entries()) await room.until(room.propose(n, `after equivocation ${i}`), `proposal ${i} commits`);
    await room.runUntil(
      () => sameLogs(room, honest) && honest.every((n) => room.consensus(n).lastCommitted === room.consensus(honest[0]!).lastCommitted),
      'same logs',
    );
    for (const n of honest) {
      expect(room.consensus(n).viewChanges).toBeGreaterThanOrEqual(1);
      expect(room.consensus(n).primary).not.toBe(primary.id);
      expect(room.consensus(n).events.some((e) => e.kind === 'view-change')).toBe(true);
    }
    expect(
      room
        .consensus(honest[0]!)
        .log.filter((e) => e.op.kind === 'decision')
        .map((e) => e.op),
    ).toHaveLength(4);
  });

  roomTest('two silent replicas of four: the honest two halt and say why, then recover when one is honest again', async (room) => {
    const [a, b, c, d] = (await four(room)) as [SimNode, SimNode, SimNode, SimNode];
    setByzantine(room, c, 'silent');
    setByzantine(room, d, 'silent');
    const stuck = room.propose(a, 'needs three');
    let settled = false;
    stuck.then(
      () => (settled = true),
      () => (settled = true),
    );
    await room.runUntil(() => room.consensus(a).halted !== null && room.consensus(b).halted !== null, 'the honest nodes report a halt', 20_000);
    expect(settled).toBe(false);
    expect(room.consensus(a).halted).toMatch(/request|faulty|view/);
    setByzantine(room, c, null);
    const seq = await room.until(stuck, 'the proposal commits once three replicas are honest', 30_000);
    await room.runUntil(() => [a, b, c].every((n) => room.consensus(n).lastCommitted >= seq), 'the three executed it', 30_000);
    expect(sameLogs(room, [a, b])).toBe(true);
    expect(room.consensus(a).halted).toBeNull();
  });

  roomTest('setByzantine refuses modes it does not know', async (room) => {
    const a = room.add();
    await room.runUntil(() => a.isUp, 'a runs');
    expect(() => setByzantine(room, a, 'evil')).toThrow(/silent, equivocate, wrong-digest, forge, replay, delay/);
    expect(setByzantine(room, a, 'delay')).toBe(true);
    expect(setByzantine(room, a, null)).toBe(true);
  });
});
