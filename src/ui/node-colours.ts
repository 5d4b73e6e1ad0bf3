// Node colours that people can tell apart, the same in every tab of a room.
//
// The UI draws a node as hsl(hue 70% 55%) (chips, graph, load plot, share bars) or a tint of that
// hue (Mandelbrot tiles). A hue hashed from the id alone puts two of four nodes within 30° of each
// other in about seven rooms of ten (two orange nodes in one picture), so hues are handed out per room:
// the room's members — the same set in every tab once gossip has converged — share a few fixed
// hue slots, spread as evenly as the slot count allows. Pure and deterministic: the same member
// set gives the same colours in any order, in every tab.
import { hashString } from '../core/rng.ts';

/**
 * Hues (degrees) whose hsl(h 70% 55%) dot is under 3:1 contrast on the dark theme's panel
 * (#16213a; WCAG 1.4.11 asks 3:1 for graphics): the deep blues and indigos, 227°–272° at 70 %
 * saturation and 225°–272° at 85 %, with a few degrees of margin. No node gets one of these.
 */
export const unreadableHueFromDeg = 222;
export const unreadableHueToDeg = 282;
/** The readable arc, from unreadableHueToDeg round to unreadableHueFromDeg. */
const readableArcDeg = 360 - (unreadableHueToDeg - unreadableHueFromDeg);
/**
 * Turns slot positions so the first four land on magenta, orange, green and cyan rather than on
 * the arc's ends (violet next to red across the excluded band).
 */
const slotRotation = 0.125;
/**
 * Members that get a slot of their own. Past this hues are under 3° apart and tell nobody
 * anything; it also bounds the assignment's work (members × slots hashes) per member set.
 */
export const maxPaletteMembers = 64;

/** A position on the readable arc, as a fraction in [0, 1), to a hue in degrees. */
export function hueAt(position: number): number {
  const p = position - Math.floor(position);
  return Math.round(((unreadableHueToDeg + p * readableArcDeg) % 360) * 10) / 10;
}

/**
 * Slot k's position: the base-2 van der Corput sequence (0, 1/2, 1/4, 3/4, 1/8, …). Every
 * prefix is spread evenly — 2, 4, 8 slots exactly evenly, any n within a factor two of it — and
 * a slot never moves when more are added, so a join adds a hue without moving the others.
 * (Golden-angle steps spread less evenly: 4 slots are 0.15 of the circle apart, not 0.25.)
 */
export function slotPosition(slot: number): number {
  let position = 0;
  let weight = 0.5;
  for (let k = slot; k > 0; k >>>= 1, weight /= 2) if (k & 1) position += weight;
  return position + slotRotation;
}

/** The hue of a node that has no slot (not a known member yet): from its id alone. */
export function hashedHue(id: string): number {
  return hueAt(hashString(id) / 2 ** 32);
}

/**
 * Hands the first n slots to the n members: slot 0, then 1, …, each to the member not yet served
 * with the highest hash of (slot, id) — rendezvous hashing. A join moves a member only when the
 * newcomer (or a member it displaced) outbids it for its slot: in a seeded run, 1.3 of 4 members
 * change colour on average when a fifth joins and 2.2 of 12 when a thirteenth does, where ranking
 * members by id moves every member after the newcomer (2.0 of 4, 6.0 of 12). No rule that depends
 * on the member set alone can keep every colour on every join (two nodes alone each get slot 0).
 * Members past maxPaletteMembers (by id) keep their hashed hue.
 */
export function assignNodeHues(members: Iterable<string>): ReadonlyMap<string, number> {
  const ids = [...new Set(members)].sort();
  const slotted = ids.slice(0, maxPaletteMembers);
  const hues = new Map<string, number>();
  const waiting = new Set(slotted);
  for (let slot = 0; waiting.size > 0; slot++) {
    let best: string | null = null;
    let bestScore = -1;
    // In id order, so a tie goes to the smaller id whatever order the members came in.
    for (const id of waiting) {
      const score = hashString(`${slot}|${id}`);
      if (score > bestScore) {
        best = id;
        bestScore = score;
      }
    }
    if (best === null) break;
    waiting.delete(best);
    hues.set(best, hueAt(slotPosition(slot)));
  }
  for (const id of ids.slice(maxPaletteMembers)) hues.set(id, hashedHue(id));
  return hues;
}

/** A node's hue in degrees: its slot among the room's members, or from its id when not a member. */
export function nodeHue(id: string, hues: ReadonlyMap<string, number>): number {
  return hues.get(id) ?? hashedHue(id);
}
