// The genesis rule on its own (src/core/pbft-room/): the record's order and checks, when a node
// may found, which record it follows, and when proposals may go to the core.
import { describe, expect, test } from 'vitest';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';
import { createRng } from '../../../src/core/rng.ts';
import { createIdentity, signText, verifyText } from '../../../src/crypto/ed25519.ts';
import {
  compareGenesis,
  decodeFollowRecord,
  decodeGenesisRecord,
  foundAfterMs,
  FoundingWatch,
  frozenGapMs,
  GenesisAgreement,
  genesisAssertIntervalMs,
  genesisId,
  genesisSettleMs,
  genesisText,
  yieldToSmallerMs,
  type GenesisRecord,
  type MemberLiveness,
} from '../../../src/core/pbft-room/index.ts';

const idA = asNodeId('A'.repeat(43));
const idB = asNodeId('B'.repeat(42) + 'A');
const idC = asNodeId('C'.repeat(43));
const record = (founder: NodeId, foundedAt: number): GenesisRecord => ({
  body: { type: 'pbft-genesis', v: 1, room: 'r', founder, foundedAt },
  sig: 'A'.repeat(86),
});

describe('genesis records', () => {
  test('the earliest founding wins, then the smaller founder id', () => {
    expect(compareGenesis(record(idB, 100), record(idA, 200))).toBeLessThan(0);
    expect(compareGenesis(record(idA, 100), record(idB, 100))).toBeLessThan(0);
    expect(compareGenesis(record(idA, 100), record(idA, 100))).toBe(0);
  });

  test('records are decoded strictly and carry a real signature', async () => {
    const founder = await createIdentity();
    const body = { type: 'pbft-genesis' as const, v: 1 as const, room: 'r', founder: founder.id, foundedAt: 123 };
    const signed = { body, sig: await signText(founder, genesisText(body)) };
    expect(decodeGenesisRecord(JSON.parse(JSON.stringify(signed))).ok).toBe(true);
    expect(await verifyText(founder.id, genesisText(body), signed.sig)).toBe(true);
    expect(await verifyText(founder.id, genesisText({ ...body, foundedAt: 1 }), signed.sig)).toBe(false);
    expect(genesisId(signed)).toMatch(/^[0-9a-f]{16}$/);
    for (const bad of [
      null,
      {},
      { ...signed, extra: 1 },
      { ...signed, sig: 'short' },
      { body: { ...body, foundedAt: -1 }, sig: signed.sig },
      { body: { ...body, founder: 'x' }, sig: signed.sig },
    ]) {
      expect(decodeGenesisRecord(bad).ok).toBe(false);
    }
    expect(decodeFollowRecord({ v: 1, genesis: signed, followedSince: 5 }).ok).toBe(true);
    expect(decodeFollowRecord({ v: 2, genesis: signed, followedSince: 5 }).ok).toBe(false);
  });
});

/** How often the pbft service asks for a verdict (its housekeeping step). */
const housekeepingStepMs = 250;

/** Asks the watch as the service does, every housekeeping step up to `now`: this node runs all along. */
function asker(watch: FoundingWatch): (now: number) => ReturnType<FoundingWatch['verdict']> {
  let last: number | null = null;
  return (now) => {
    if (last !== null) for (let t = last + housekeepingStepMs; t < now; t += housekeepingStepMs) watch.verdict(t);
    last = now;
    return watch.verdict(now);
  };
}

describe('founding', () => {
  test('a node founds only once joined at the server and the room has looked the same for a while', () => {
    const watch = new FoundingWatch(idB);
    const ask = asker(watch);
    expect(ask(100_000)).toEqual({ ok: false, why: 'not joined at the signaling server' });
    watch.signaling(true, 1_000);
    expect(ask(1_000 + foundAfterMs - 1).ok).toBe(false);
    expect(ask(1_000 + foundAfterMs).ok).toBe(true);
    // Losing the server stops it again (VOPR seed 4: a node restarted while the server was down).
    watch.signaling(false, 5_000);
    expect(ask(50_000).ok).toBe(false);
  });

  test('a node the server names but gossip cannot reach, or holds dead, keeps it waiting; departed ones do not', () => {
    const watch = new FoundingWatch(idA);
    const ask = asker(watch);
    watch.signaling(true, 0);
    // VOPR seed 16: a newcomer alone in a partition hears of the others only from the server.
    watch.introduced(idC, 10);
    expect(ask(60_000)).toMatchObject({ ok: false, why: expect.stringContaining('not reachable') });
    watch.member(idC, 'suspect', 20);
    expect(ask(60_000).ok).toBe(false);
    // VOPR seeds 98 and 115: each side of a partition holds the other dead; the server lists both.
    watch.member(idC, 'dead', 30);
    expect(ask(60_000)).toMatchObject({ ok: false, why: expect.stringContaining('not reachable') });
    watch.leftRoom(idC, 60_000);
    expect(ask(60_000 + foundAfterMs - 1).ok).toBe(false);
    expect(ask(60_000 + foundAfterMs).ok).toBe(true);
    watch.introduced(idB, 70_000);
    watch.leftRoom(idB, 70_001);
    expect(ask(70_001 + foundAfterMs).ok).toBe(true);
    // A node only gossip named (the server did not, or no longer does) stops counting once dead.
    watch.member(idC, 'alive', 80_000);
    watch.member(idC, 'dead', 80_001);
    expect(ask(80_001 + foundAfterMs).ok).toBe(true);
    // Off the server and back, the server's new list is what counts: a node it listed before and
    // gossip holds dead, which left while this node was away (no word of it), stops counting.
    watch.introduced(idB, 90_000);
    watch.member(idB, 'dead', 90_001);
    expect(ask(90_001 + foundAfterMs).ok).toBe(false);
    watch.signaling(false, 95_000);
    watch.signaling(true, 96_000);
    expect(ask(96_000 + foundAfterMs).ok).toBe(true);
  });

  test('of live newcomers the smallest id founds first; the others wait longer, not for ever', () => {
    const watch = new FoundingWatch(idB);
    const ask = asker(watch);
    watch.signaling(true, 0);
    watch.links(true, 0);
    watch.member(idA, 'alive', 0);
    watch.member(idC, 'alive', 0);
    expect(ask(foundAfterMs)).toMatchObject({ ok: false, why: expect.stringContaining('founds first') });
    expect(ask(yieldToSmallerMs).ok).toBe(true);
    // A dead or departed node never counts, even when gossip reports it first.
    const fresh = new FoundingWatch(idB);
    const askFresh = asker(fresh);
    fresh.signaling(true, 0);
    fresh.member(idA, 'left', 0);
    expect(askFresh(foundAfterMs).ok).toBe(true);
  });

  test('a node cut off by itself, whose gossip still holds everyone alive, waits once its last link is gone (VOPR seed 280)', () => {
    // n4 of seed 280: joined at 0.16 s, introduced to the five others, who were all alive in its
    // gossip by 0.85 s. Cut off alone at 2.4 s, its gossip accused nobody (no helper could nack:
    // Lifeguard withholds the accusation), so it still held all five alive at 8.3 s, when the
    // yield to n0 (smaller id) ran out and it founded. Its links had failed on silence at 6.6 s.
    const peers = [idA, idC, asNodeId('D'.repeat(43)), asNodeId('E'.repeat(43)), asNodeId('F'.repeat(43))];
    const watch = new FoundingWatch(idB);
    const ask = asker(watch);
    watch.signaling(true, 158);
    for (const peer of peers) watch.introduced(peer, 212);
    watch.links(true, 389);
    peers.forEach((peer, i) => watch.member(peer, 'alive', 389 + i * 100));
    const quietSince = 389 + 4 * 100;
    expect(ask(quietSince + yieldToSmallerMs - 1)).toMatchObject({ ok: false, why: expect.stringContaining('founds first') });
    // The cut at 2.4 s changes nothing this node can see; its links fail on silence at 6.6 s.
    watch.links(false, 6_597);
    expect(quietSince + yieldToSmallerMs).toBeLessThan(8_500);
    expect(ask(8_500)).toEqual({ ok: false, why: 'no direct link up: the room cannot reach this node' });
    expect(ask(15_000).ok).toBe(false);
    // The heal: a link again, but the room's memory is not read yet, so the quiet period starts over.
    watch.links(true, 15_347);
    expect(ask(15_347 + yieldToSmallerMs - 1).ok).toBe(false);
    expect(ask(15_347 + yieldToSmallerMs).ok).toBe(true);
    // A node alone in the room needs no link.
    const alone = new FoundingWatch(idB);
    alone.signaling(true, 0);
    expect(asker(alone)(foundAfterMs).ok).toBe(true);
  });

  test('in a room larger than the member table the sample stands for the room', () => {
    const watch = new FoundingWatch(idB);
    const ask = asker(watch);
    watch.signaling(true, 0);
    watch.links(true, 0);
    watch.sample(true, 0);
    // Nodes the server named that gossip never held (outside the sample) are not waited for.
    watch.introduced(idC, 0);
    watch.member(asNodeId('D'.repeat(43)), 'alive', 0);
    expect(ask(foundAfterMs - 1).ok).toBe(false);
    expect(ask(foundAfterMs).ok).toBe(true);
    // Members coming into the sample are peer sampling, not a change of the room.
    watch.member(asNodeId('E'.repeat(43)), 'alive', 3_000);
    expect(ask(3_000).ok).toBe(true);
    // A dead member of the sample counts as unreachable though the server never listed it: a
    // partition shows up as deaths in the sample. Only the server's word that it left takes it out.
    watch.member(idC, 'dead', 4_000);
    expect(ask(60_000)).toMatchObject({ ok: false, why: expect.stringContaining("in the room's sample but not reachable") });
    watch.leftRoom(idC, 60_000);
    expect(ask(60_000 + foundAfterMs).ok).toBe(true);
    // Gossip's late word of its death is no news then.
    watch.member(idC, 'dead', 61_000);
    expect(ask(61_000).ok).toBe(false);
    expect(ask(60_000 + foundAfterMs).ok).toBe(true);
    watch.member(asNodeId('D'.repeat(43)), 'suspect', 63_000);
    expect(ask(63_000 + foundAfterMs).ok).toBe(false);
  });

  test('in a sampled room each live smaller id this node knows of delays it by yieldToSmallerMs', () => {
    const watch = new FoundingWatch(idC);
    const ask = asker(watch);
    watch.signaling(true, 0);
    watch.links(true, 0);
    watch.sample(true, 0);
    watch.member(idA, 'alive', 0);
    watch.introduced(idB, 0);
    watch.member(asNodeId('D'.repeat(43)), 'alive', 0);
    expect(ask(2 * yieldToSmallerMs - 1)).toMatchObject({ ok: false, why: expect.stringContaining('founds first') });
    expect(ask(2 * yieldToSmallerMs).ok).toBe(true);
    // The smallest waits only the quiet period, and the form reverts when the table is no longer full.
    const smallest = new FoundingWatch(idA);
    smallest.signaling(true, 0);
    smallest.links(true, 0);
    smallest.sample(true, 0);
    smallest.member(idB, 'alive', 0);
    smallest.introduced(idC, 0);
    const askSmallest = asker(smallest);
    expect(askSmallest(foundAfterMs).ok).toBe(true);
    smallest.sample(false, 5_000);
    expect(askSmallest(60_000)).toMatchObject({ ok: false, why: expect.stringContaining('not reachable') });
  });

  test('a node that did not run for a while (frozen, asleep) starts its quiet period over', () => {
    // VOPR seed 115: asleep from 6.7 s to 15 s, a node woke to a room that looked unchanged and
    // founded before reading the genesis record waiting in its inbox.
    const watch = new FoundingWatch(idB);
    const ask = asker(watch);
    watch.signaling(true, 0);
    expect(ask(1_000).ok).toBe(false);
    // Not asked between 1 s and 10 s: the node did not run.
    expect(watch.verdict(10_000)).toEqual({ ok: false, why: 'the room is still changing' });
    expect(ask(10_000 + foundAfterMs - 1).ok).toBe(false);
    expect(ask(10_000 + foundAfterMs).ok).toBe(true);
    expect(frozenGapMs).toBeGreaterThan(housekeepingStepMs);
  });

  test('seeded: a founding verdict never comes while off the server, unlinked from a room with others, or while a named node is unreachable or dead but listed', () => {
    for (let seed = 0; seed < 200; seed++) {
      const rng = createRng(`founding-${seed}`);
      const peers = [idA, idC, asNodeId('D'.repeat(43))];
      const watch = new FoundingWatch(idB);
      let joined = false;
      let linked = false;
      const status = new Map<NodeId, MemberLiveness | null>();
      const listed = new Set<NodeId>();
      let now = 0;
      for (let step = 0; step < 60; step++) {
        now += Math.floor(rng.next() * 2_000);
        const peer = peers[Math.floor(rng.next() * peers.length)] as NodeId;
        const roll = rng.next();
        if (roll < 0.1) {
          watch.signaling((joined = !joined), now);
          if (!joined) listed.clear();
        } else if (roll < 0.15) {
          watch.links((linked = !linked), now);
        } else if (roll < 0.3) {
          watch.introduced(peer, now);
          listed.add(peer);
          if (!status.has(peer)) status.set(peer, null);
        } else if (roll < 0.4) {
          watch.leftRoom(peer, now);
          listed.delete(peer);
          status.delete(peer);
        } else if (roll < 0.9) {
          const s = (['alive', 'suspect', 'dead', 'left'] as const)[Math.floor(rng.next() * 4)] as MemberLiveness;
          watch.member(peer, s, now);
          if (status.has(peer) || (s !== 'dead' && s !== 'left')) status.set(peer, s);
        }
        const unreachable = [...status].some(([p, s]) => s === null || s === 'suspect' || (s === 'dead' && listed.has(p)));
        const others = [...status].some(([p, s]) => s === 'alive' || (s === 'dead' && listed.has(p)));
        if (!joined || unreachable || (others && !linked)) expect(watch.verdict(now).ok, `seed ${seed} step ${step}`).toBe(false);
      }
    }
  });
});

describe('agreement', () => {
  const joinedAlone = (self: NodeId): GenesisAgreement => {
    const agreement = new GenesisAgreement(self);
    agreement.signaling(true, 1_000);
    return agreement;
  };

  test('a node with nothing adopts what gossip brings, or founds when it may', () => {
    const agreement = joinedAlone(idB);
    expect(agreement.decide(null, 1_000 + foundAfterMs - 1)).toMatchObject({ kind: 'wait' });
    expect(agreement.decide(null, 1_000 + foundAfterMs)).toEqual({ kind: 'found' });
    const theirs = record(idA, 500);
    expect(agreement.decide(theirs, 1_001)).toEqual({ kind: 'adopt', record: theirs });
    expect(new GenesisAgreement(idB).decide(null, 1e9)).toMatchObject({ kind: 'wait', why: 'not joined at the signaling server' });
  });

  test('a following node adopts a better record, and writes its own over a worse one or none', () => {
    const agreement = joinedAlone(idB);
    const mine = record(idB, 500);
    agreement.follow(mine, 2_000);
    expect(agreement.decide(mine, 3_000)).toEqual({ kind: 'keep' });
    expect(agreement.decide(null, 3_000)).toEqual({ kind: 'assert' });
    expect(agreement.decide(record(idA, 900), 3_000)).toEqual({ kind: 'assert' });
    const earlier = record(idA, 400);
    expect(agreement.decide(earlier, 3_000)).toEqual({ kind: 'adopt', record: earlier });
    expect(agreement.assertDue(3_000)).toBe(true);
    expect(agreement.assertDue(3_000 + genesisAssertIntervalMs - 1)).toBe(false);
    expect(agreement.assertDue(3_000 + genesisAssertIntervalMs)).toBe(true);
  });

  test('proposals wait genesisSettleMs from when this node took the genesis up, whatever its founding date says', () => {
    const agreement = joinedAlone(idB);
    expect(agreement.settled(1e9)).toBe(false);
    // Founded "long ago" by the founder's (or a jumped) wall clock: still counted from here (VOPR seed 20).
    agreement.follow(record(idA, 0), 10_000);
    expect(agreement.settled(10_000 + genesisSettleMs - 1)).toBe(false);
    expect(agreement.settled(10_000 + genesisSettleMs)).toBe(true);
    agreement.follow(record(idC, 5), 20_000);
    expect(agreement.settled(20_000)).toBe(false);
  });
});
