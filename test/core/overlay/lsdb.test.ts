// The link-state database: newest advert per origin, ageing, and the cap.
import { describe, expect, it } from 'vitest';
import { LinkStateDb } from '../../../src/core/overlay/lsdb.ts';
import { advertMaxAgeMs } from '../../../src/core/overlay/config.ts';
import type { AdvertMsg } from '../../../src/core/overlay/messages.ts';
import { asNodeId } from '../../../src/core/types.ts';

const advert = (origin: string, seq: number, peers: string[], ageMs = 0): AdvertMsg => ({
  type: 'advert',
  origin: asNodeId(origin),
  seq,
  ageMs,
  ttl: 4,
  links: peers.map((p) => ({ peer: asNodeId(p) })),
  sig: `sim:${origin}`,
});

describe('link-state database', () => {
  it('keeps the newest advert per origin and says when the topology changed', () => {
    const db = new LinkStateDb();
    expect(db.consider(advert('a', 1, ['b']), 0)).toEqual({ kind: 'installed', topologyChanged: true, evicted: null });
    expect(db.consider(advert('a', 1, ['b']), 5)).toEqual({ kind: 'duplicate' });
    expect(db.consider(advert('a', 2, ['b']), 10)).toEqual({ kind: 'installed', topologyChanged: false, evicted: null });
    expect(db.consider(advert('a', 1, ['c']), 20)).toEqual({ kind: 'stale' });
    const before = db.version;
    expect(db.consider(advert('a', 3, ['c']), 30)).toMatchObject({ kind: 'installed', topologyChanged: true });
    expect(db.version).toBe(before + 1);
    expect([...db.peersOf(asNodeId('a'))!]).toEqual(['c']);
  });

  it('ages adverts from when their origin made them, and drops them at the maximum age', () => {
    const db = new LinkStateDb();
    db.consider(advert('a', 1, ['b'], 1_000), 10_000);
    expect(db.ageOf(db.get(asNodeId('a'))!, 10_500)).toBe(1_500);
    expect(db.expire(10_000 + advertMaxAgeMs - 1_001)).toEqual([]);
    expect(db.expire(10_000 + advertMaxAgeMs - 1_000)).toEqual(['a']);
    expect(db.size).toBe(0);
    expect(db.consider(advert('b', 1, [], advertMaxAgeMs), 0)).toEqual({ kind: 'expired' });
  });

  it('never expires the origin it is told to keep (our own advert)', () => {
    const db = new LinkStateDb();
    db.consider(advert('me', 1, []), 0);
    expect(db.expire(advertMaxAgeMs * 2, asNodeId('me'))).toEqual([]);
  });

  it('when full, evicts the advert made longest ago, and refuses one older than all', () => {
    const db = new LinkStateDb(3);
    db.consider(advert('a', 1, [], 300), 1_000); // made at 700
    db.consider(advert('b', 1, [], 100), 1_000); // made at 900
    db.consider(advert('c', 1, [], 200), 1_000); // made at 800
    expect(db.consider(advert('d', 1, [], 0), 1_000)).toEqual({ kind: 'installed', topologyChanged: true, evicted: 'a' });
    expect(db.consider(advert('e', 1, [], 900), 1_000)).toEqual({ kind: 'db-full' });
    expect(db.size).toBe(3);
    expect([...db.origins()].sort()).toEqual(['b', 'c', 'd']);
  });
});
