// A larger mesh on the lean overlay simulator (the one the topology benchmark uses): fractional
// clock, random join order, a 20 % crash. One seed by default, more with LONG=1.
import { expect } from 'vitest';
import { simTest } from '../../sim/seed.ts';
import { computeMetrics } from '../../../src/core/graph/index.ts';
import { FastMesh } from './fast-mesh.ts';
import { advertRadiusHops } from '../../../src/core/overlay/config.ts';
import { ball, viewMatches } from './mesh-checks.ts';

simTest(
  '128 nodes: joins settle in range, views are exact, a 20 % crash heals within seconds',
  (seed) => {
    const n = 128;
    const mesh = new FastMesh({ seed, detectMs: 1_000 });
    for (const name of mesh.rng.shuffle(Array.from({ length: n }, (_, i) => `n${i}`))) {
      mesh.add(name, mesh.rng.shuffle(mesh.upIds()).slice(0, 8));
      mesh.runFor(50);
    }
    expect(
      mesh.runUntil(() => mesh.healthy(3, 5) === true, 30_000, 100),
      String(mesh.healthy(3, 5)),
    ).not.toBeNull();
    mesh.runFor(10_000);
    expect(mesh.healthy(3, 5)).toBe(true);
    const truth = mesh.graph();
    const rest = computeMetrics(truth);
    expect(rest.diameter).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
    // Every node's own picture is the true graph within advertRadiusHops of it, and holds
    // nothing much farther (adverts decode even with a fractional clock).
    for (const id of mesh.upIds()) {
      const view = mesh.overlay(id).view();
      expect(viewMatches(truth, id, view), id).toBe(true);
      expect(mesh.overlay(id).snapshot().lsdbOrigins, id).toBeLessThanOrEqual(ball(truth, id, advertRadiusHops + 1).size);
    }
    for (const id of mesh.upIds()) expect(mesh.overlay(id).counters.dropped.malformed, id).toBe(0);

    for (const v of mesh.rng.shuffle(mesh.upIds()).slice(0, n / 5)) mesh.crash(v);
    const healedIn = mesh.runUntil(() => mesh.healthy(3, 5) === true, 10_000, 50);
    expect(healedIn, String(mesh.healthy(3, 5))).not.toBeNull();
    expect(healedIn as number).toBeLessThanOrEqual(5_000);
  },
  { seeds: 1, longSeeds: 5, timeoutMs: 60_000 },
);
