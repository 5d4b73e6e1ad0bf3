// Rooms larger than viewSize: each node holds a bounded random sample of the room (peer
// sampling on syncs), SWIM runs over that sample, and still every write reaches every node,
// a crash is found by every node that held the victim, and no live node is declared dead.
// viewSize is lowered through config (16 of 200 nodes) so a test runs in seconds; the
// benchmark runs the default (256) at 10,000 nodes (`npm run bench -- gossip --scale 10000`).
import { expect, test } from 'vitest';
import { GossipCore } from '../../../src/core/gossip/core.ts';
import { maxMembers } from '../../../src/core/gossip/config.ts';
import type { GossipEffect } from '../../../src/core/gossip/types.ts';
import { createRng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { eventually } from '../../sim/checkers.ts';
import { simTest } from '../../sim/seed.ts';
import { command, gossipCluster, lacking, memoryConverged, watchFalseDeaths, type GossipCluster } from './harness.ts';

const viewSize = 16;
const nodes = 200;
/** Real-time allowance on a loaded machine (the simulated budgets are what the tests check). */
const timeoutMs = 120_000;

function largeRoom(seed: number, lossRate = 0): GossipCluster {
  return gossipCluster({ seed, nodes, introduce: 'sample', introductions: 8, config: { viewSize }, network: { lossRate } });
}

/** Running nodes (other than `subject`) that hold `subject` as alive or suspect. */
function holdingLive(cluster: GossipCluster, subject: NodeId): NodeId[] {
  return cluster.upIds().filter((id) => {
    const status = id === subject ? undefined : cluster.node(id).core.member(subject)?.status;
    return status === 'alive' || status === 'suspect';
  });
}

simTest(
  'in a room 12× the bound every table is a bounded, changing sample that holds the members it names',
  (seed) => {
    const cluster = largeRoom(seed);
    cluster.runFor(15_000);
    const held = cluster.upIds().map((id) => cluster.node(id).core);
    for (const core of held) {
      expect(core.partialView).toBe(true);
      expect(core.liveMembers).toBeLessThanOrEqual(viewSize);
    }
    // The samples differ between nodes and cover the room: together they name every node.
    const named = new Set(held.flatMap((core) => core.view().members.map((m) => m.id)));
    expect(named.size).toBe(nodes);
    // Each node sits in some tables (nobody is forgotten by all), and the sample keeps moving.
    expect(held.every((core) => core.metrics().viewEvictions > 0)).toBe(true);
    const inDegree = new Map<NodeId, number>();
    for (const core of held) for (const m of core.view().members) if (m.id !== core.id) inDegree.set(m.id, (inDegree.get(m.id) ?? 0) + 1);
    expect(Math.min(...cluster.upIds().map((id) => inDegree.get(id) ?? 0))).toBeGreaterThan(0);
  },
  { timeoutMs },
);

simTest(
  'a write reaches every node of a large room in a few rounds, under 2 % loss',
  (seed) => {
    const cluster = largeRoom(seed, 0.02);
    cluster.runFor(12_000);
    const writer = `n${(seed * 37) % nodes}` as NodeId;
    command(cluster, writer, { type: 'set-memory', key: 'big', value: { seed } });
    // log₂ 300 ≈ 8 rounds of 2 s is the target; eager push does it in a few network delays.
    eventually(cluster, 'every node holds the write', () => lacking(cluster, 'big', { seed }).length === 0 || lacking(cluster, 'big', { seed }).join(), {
      withinMs: 16_000,
    });
    expect(memoryConverged(cluster)).toBe(true);
  },
  { timeoutMs },
);

simTest(
  'a crash in a large room: no live node holds the victim live afterwards, and no live node is declared dead',
  (seed) => {
    const cluster = largeRoom(seed, 0.02);
    const falseDeaths = watchFalseDeaths(cluster);
    cluster.runFor(12_000 + seed * 131);
    const victim = `n${(seed * 53) % nodes}` as NodeId;
    const holders = holdingLive(cluster, victim);
    expect(holders.length).toBeGreaterThan(0);
    cluster.crash(victim);
    eventually(cluster, `nobody holds ${victim} live`, () => holdingLive(cluster, victim).length === 0 || holdingLive(cluster, victim).join(), {
      withinMs: 30_000,
    });
    // Those that held it know it dead (not merely dropped it from their sample).
    const knowDead = holders.filter((id) => cluster.node(id).core.member(victim)?.status === 'dead');
    expect(knowDead.length).toBeGreaterThan(holders.length / 2);
    cluster.runFor(10_000);
    expect(falseDeaths).toEqual([]);
  },
  { timeoutMs },
);

// ── one core with a full table, step by step ────────────────────────────────

function fullCore(): { core: GossipCore; send: (from: string, msg: unknown) => GossipEffect[] } {
  const peers = Array.from({ length: 40 }, (_, i) => `p${i}` as NodeId);
  const core = new GossipCore({ id: 'me' as NodeId, rng: createRng('full-core'), now: 1_000, config: { viewSize: 16, contactMode: 'members' }, peers });
  core.step(1_000, { type: 'tick' });
  return { core, send: (from, msg) => core.step(1_100, { type: 'message', from: from as NodeId, msg }) };
}

test('a full table: rumours of unknown members are not stored, samples replace, deaths are kept and passed on', () => {
  const { core, send } = fullCore();
  expect(core.liveMembers).toBe(16);
  expect(core.partialView).toBe(true);
  // A rumour of an unknown alive member: left out, not refused as an error.
  send('p0', { type: 'news', m: [['stranger', 0, 0]] });
  expect(core.member('stranger' as NodeId)).toBeUndefined();
  expect(core.view().rejected).toEqual({});
  // A sample naming it: it takes a sampled member's place; the table stays at its bound.
  const effects = send('p0', { type: 'sync-reply', s: [['stranger', 3, 0]] });
  expect(core.member('stranger' as NodeId)).toEqual({ id: 'stranger', status: 'alive', incarnation: 3 });
  expect(core.liveMembers).toBe(16);
  expect(effects.filter((e) => e.type === 'member-forgotten')).toHaveLength(1);
  // A death of a member we do not hold: kept apart from the bound and flooded on.
  const death = send('p0', { type: 'news', m: [['ghost', 2, 2]] });
  expect(core.member('ghost' as NodeId)?.status).toBe('dead');
  expect(core.liveMembers).toBe(16);
  expect(death.filter((e) => e.type === 'send' && JSON.stringify(e.msg).includes('ghost')).length).toBeGreaterThanOrEqual(3);
  // A refutation of a member we do not hold: not stored, but flooded on once (it must reach the accuser).
  const relays = (effects: GossipEffect[]): number => effects.filter((e) => e.type === 'send' && JSON.stringify(e.msg).includes('refuter')).length;
  expect(relays(send('p2', { type: 'news', m: [['refuter', 4, 0]] }))).toBeGreaterThanOrEqual(3);
  expect(core.member('refuter' as NodeId)).toBeUndefined();
  expect(relays(send('p3', { type: 'news', m: [['refuter', 4, 0]] }))).toBe(0);
  // A stale sample cannot bring it back.
  send('p1', { type: 'sync-reply', s: [['ghost', 2, 0]] });
  expect(core.member('ghost' as NodeId)?.status).toBe('dead');
  // Its own syncs now carry a sample: its own fact first.
  const sync = core.step(5_000, { type: 'tick' }).find((e) => e.type === 'send' && (e.msg as { type: string }).type === 'sync');
  expect(sync && sync.type === 'send' ? (sync.msg as { s?: unknown[] }).s?.[0] : undefined).toEqual(['me', 0, 0]);
  expect(core.metrics().membersHeld).toBeLessThan(maxMembers);
});
