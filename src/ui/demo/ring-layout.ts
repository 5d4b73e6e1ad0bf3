// Where the demo view draws n nodes: evenly on a ring, the first at the top, clockwise. Sizes
// shrink with n so 16 nodes stay apart and legible at 1920×1080. Pure.

/** The ring's radius in the SVG's units (the view box is 1000 × 1000, centred on 0, 0). */
export const ringRadius = 370;

export interface Placed {
  x: number;
  y: number;
}

export function ringPosition(index: number, count: number): Placed {
  const angle = -Math.PI / 2 + (2 * Math.PI * index) / Math.max(1, count);
  return { x: Math.round(ringRadius * Math.cos(angle) * 10) / 10, y: Math.round(ringRadius * Math.sin(angle) * 10) / 10 };
}

/** A node's radius: as large as 80 for a few nodes, never so large that neighbours touch. */
export function nodeRadius(count: number): number {
  const gap = (2 * Math.PI * ringRadius) / Math.max(1, count);
  return Math.max(28, Math.min(80, gap * 0.36));
}

/** How far a message's path bows out sideways, as a share of the distance it covers. */
export const pathBow = 0.14;

/**
 * A point `t` of the way from a to b on a gentle arc bowed to the right of the direction of
 * travel, so A→B and B→A take different paths and nothing crosses the ring's centre (where the
 * demo screen itself is drawn) on the way between two opposite nodes.
 */
export function along(a: Placed, b: Placed, t: number): Placed {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len = Math.hypot(dx, dy) || 1;
  // A quadratic Bézier through the midpoint's sideways control point.
  const cx = (a.x + b.x) / 2 + (-dy / len) * len * pathBow * 2;
  const cy = (a.y + b.y) / 2 + (dx / len) * len * pathBow * 2;
  const u = 1 - t;
  return { x: u * u * a.x + 2 * u * t * cx + t * t * b.x, y: u * u * a.y + 2 * u * t * cy + t * t * b.y };
}
