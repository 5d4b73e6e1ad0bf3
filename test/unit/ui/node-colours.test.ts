import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assignNodeHues, hashedHue, hueAt, maxPaletteMembers, nodeHue, slotPosition } from '../../../src/ui/node-colours.ts';
import { createRng } from '../../../src/core/rng.ts';

const idAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Node ids are 43 base64url characters (an Ed25519 public key). */
const randomId = (rng: ReturnType<typeof createRng>): string => Array.from({ length: 43 }, () => idAlphabet[rng.int(64)]).join('');
const nodeIds = (rng: ReturnType<typeof createRng>, n: number): string[] => Array.from({ length: n }, () => randomId(rng));
const idArb = fc.string({ unit: fc.constantFrom(...idAlphabet), minLength: 43, maxLength: 43 });

/** Smallest distance between two hues on the colour wheel, in degrees. */
function minHueGap(hues: number[]): number {
  const sorted = [...hues].sort((a, b) => a - b);
  let gap = 360;
  for (let i = 0; i < sorted.length; i++) {
    const next = i + 1 < sorted.length ? sorted[i + 1]! : sorted[0]! + 360;
    gap = Math.min(gap, next - sorted[i]!);
  }
  return gap;
}

// WCAG 2 relative luminance and contrast ratio.
const linear = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const luminance = ([r, g, b]: [number, number, number]) => 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
function hsl(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return [f(0), f(8), f(4)];
}
function cssHex(name: string): [number, number, number] {
  const css = readFileSync(new URL('../../../src/ui/app.css', import.meta.url), 'utf8');
  const hex = new RegExp(`${name}:\\s*#([0-9a-fA-F]{6})`).exec(css)?.[1];
  if (!hex) throw new Error(`${name} not found in src/ui/app.css`);
  const n = parseInt(hex, 16);
  return [(n >> 16) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
}
const contrast = (a: [number, number, number], b: [number, number, number]) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
};

describe('node colours', () => {
  it('gives 2–12 members hues far enough apart to tell apart (four tabs a quarter of the readable wheel apart)', () => {
    const seed = 11;
    const rng = createRng(seed);
    for (let n = 2; n <= 12; n++) {
      for (let trial = 0; trial < 20; trial++) {
        const hues = [...assignNodeHues(nodeIds(rng, n)).values()];
        expect(new Set(hues).size, `seed=${seed} n=${n}`).toBe(n);
        const gap = minHueGap(hues);
        // The readable arc is 300°; n slots of the van der Corput sequence are at least half an even share apart.
        expect(gap, `seed=${seed} n=${n}`).toBeGreaterThanOrEqual(150 / n - 0.1);
        if (n <= 4) expect(gap, `seed=${seed} n=${n}`).toBeGreaterThanOrEqual(74.9);
      }
    }
  });

  it('hues from the id alone put two of four nodes within 30° in many rooms; the room slots never do', () => {
    const seed = 5;
    const rng = createRng(seed);
    let closeBefore = 0;
    for (let trial = 0; trial < 200; trial++) {
      const ids = nodeIds(rng, 4);
      if (minHueGap(ids.map(hashedHue)) < 30) closeBefore++;
      expect(minHueGap([...assignNodeHues(ids).values()]), `seed=${seed}`).toBeGreaterThanOrEqual(74.9);
    }
    expect(closeBefore, `seed=${seed}`).toBeGreaterThan(50);
  });

  it('gives the same colours for the same member set in any order, with duplicates', () => {
    fc.assert(
      fc.property(fc.uniqueArray(idArb, { minLength: 1, maxLength: 16 }), fc.integer(), (ids, salt) => {
        const shuffled = [...ids].sort((a, b) => (a.charCodeAt(salt & 31) ^ salt) - (b.charCodeAt(salt & 31) ^ salt) || (a < b ? -1 : 1));
        const a = assignNodeHues(ids);
        const b = assignNodeHues([...shuffled, ...ids.slice(0, 2)]);
        expect(b.size).toBe(ids.length);
        for (const id of ids) expect(nodeHue(id, b)).toBe(nodeHue(id, a));
      }),
    );
  });

  it('keeps most members on their colour when another tab joins (fewer moves than ranking by id)', () => {
    const seed = 23;
    const rng = createRng(seed);
    for (const n of [3, 4, 6, 8, 12]) {
      const trials = 200;
      let moved = 0;
      let movedByRank = 0;
      for (let trial = 0; trial < trials; trial++) {
        const ids = nodeIds(rng, n);
        const joiner = randomId(rng);
        const before = assignNodeHues(ids);
        const after = assignNodeHues([...ids, joiner]);
        // Slots never move: the room's hues before the join are all still in use after it.
        expect(new Set(after.values()), `seed=${seed} n=${n}`).toEqual(new Set([...before.values(), hueAt(slotPosition(n))]));
        moved += ids.filter((id) => after.get(id) !== before.get(id)).length;
        movedByRank += ids.filter((id) => id > joiner).length;
      }
      console.log(`n=${n}: a join moved ${(moved / trials).toFixed(2)} members on average (ranking by id: ${(movedByRank / trials).toFixed(2)}), seed=${seed}`);
      expect(moved / trials, `seed=${seed} n=${n}`).toBeLessThan(movedByRank / trials);
      expect(moved / trials, `seed=${seed} n=${n}`).toBeLessThan(n / 2);
    }
  });

  it('never hands out a hue under 3:1 contrast on the dark theme (page and panel, both saturations the UI draws)', () => {
    const backgrounds = [cssHex('--bg'), cssHex('--panel')];
    const hues = new Set<number>();
    for (let slot = 0; slot < maxPaletteMembers; slot++) hues.add(hueAt(slotPosition(slot)));
    const rng = createRng(3);
    for (let i = 0; i < 2_000; i++) hues.add(hashedHue(randomId(rng)));
    for (let p = 0; p < 1; p += 0.001) hues.add(hueAt(p));
    for (const h of hues) {
      for (const background of backgrounds) {
        expect(contrast(hsl(h, 0.7, 0.55), background), `hue ${h}`).toBeGreaterThanOrEqual(3);
        expect(contrast(hsl(h, 0.85, 0.55), background), `hue ${h}`).toBeGreaterThanOrEqual(3);
      }
    }
  });

  it('falls back to the id for a node outside the member list, the same in every tab', () => {
    const hues = assignNodeHues(['a', 'b', 'c']);
    expect(nodeHue('stranger', hues)).toBe(hashedHue('stranger'));
    expect(nodeHue('stranger', new Map())).toBe(nodeHue('stranger', assignNodeHues(['x'])));
    const h = hashedHue('stranger');
    expect(h).toBeGreaterThanOrEqual(0);
    expect(h).toBeLessThan(360);
  });

  it('bounds the work: members past the cap keep their hashed hue, the first ones keep distinct slots', () => {
    const rng = createRng(9);
    const ids = nodeIds(rng, maxPaletteMembers + 10).sort();
    const hues = assignNodeHues(ids);
    expect(hues.size).toBe(ids.length);
    expect(new Set(ids.slice(0, maxPaletteMembers).map((id) => hues.get(id))).size).toBe(maxPaletteMembers);
    for (const id of ids.slice(maxPaletteMembers)) expect(hues.get(id)).toBe(hashedHue(id));
  });
});
