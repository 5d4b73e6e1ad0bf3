// Mandelbrot tiles: the visual demo. A job is an image of a region of the complex plane; each
// task renders one tile of it to RGBA. Colours come from the escape count through a polynomial
// palette using only + − × on doubles, which IEEE 754 makes bit-identical on every engine, so
// two nodes rendering the same tile produce the same bytes (verified mode compares digests;
// Math.log or Math.sin are not guaranteed to round alike across browsers and are avoided).
import * as v from 'valibot';
import { decodeWith } from '../../core/decode.ts';
import { base64ToBytes, bytesToBase64 } from './base64.ts';
import { checkDeadline, type Checked, type Deadline, type TaskKind } from './registry.ts';

/** Largest image side, in pixels. */
export const maxImageSidePx = 4096;
/** Tile sides allowed, in pixels; 128² RGBA is 64 KiB, about 87 KB as base64. */
export const minTileSidePx = 8;
export const maxTileSidePx = 128;
/** Escape-iteration cap; beyond this a tile takes minutes. */
export const maxIterationsLimit = 100_000;

const finite = v.pipe(v.number(), v.finite());
const regionSchema = v.pipe(
  v.strictObject({ xMin: finite, xMax: finite, yMin: finite, yMax: finite }),
  v.check((r) => r.xMin < r.xMax && r.yMin < r.yMax, 'region needs xMin < xMax and yMin < yMax'),
);
const side = (max: number) => v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(max));

export const defaultRegion = { xMin: -2.2, xMax: 1.0, yMin: -1.2, yMax: 1.2 };

const paramsSchema = v.strictObject({
  region: v.optional(regionSchema, () => ({ ...defaultRegion })),
  width: v.optional(side(maxImageSidePx), 512),
  height: v.optional(side(maxImageSidePx), 384),
  tileSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(minTileSidePx), v.maxValue(maxTileSidePx)), 64),
  maxIterations: v.optional(side(maxIterationsLimit), 500),
});
export type MandelbrotParams = v.InferOutput<typeof paramsSchema>;

const taskSchema = v.pipe(
  v.strictObject({
    region: regionSchema,
    width: side(maxImageSidePx),
    height: side(maxImageSidePx),
    x: v.pipe(v.number(), v.integer(), v.minValue(0)),
    y: v.pipe(v.number(), v.integer(), v.minValue(0)),
    w: side(maxTileSidePx),
    h: side(maxTileSidePx),
    maxIterations: side(maxIterationsLimit),
  }),
  v.check((t) => t.x + t.w <= t.width && t.y + t.h <= t.height, 'the tile must lie inside the image'),
);
export type MandelbrotTask = v.InferOutput<typeof taskSchema>;

export interface MandelbrotTile {
  [key: string]: number | string;
  x: number;
  y: number;
  w: number;
  h: number;
  /** RGBA bytes, row by row, base64. */
  rgba: string;
}

const tileSchema = v.strictObject({
  x: v.pipe(v.number(), v.integer()),
  y: v.pipe(v.number(), v.integer()),
  w: v.pipe(v.number(), v.integer()),
  h: v.pipe(v.number(), v.integer()),
  rgba: v.pipe(v.string(), v.maxLength(4 * Math.ceil((maxTileSidePx * maxTileSidePx * 4) / 3))),
});

export interface MandelbrotImage {
  width: number;
  height: number;
  /** RGBA, row by row: ready for `new ImageData(pixels, width, height)`. */
  pixels: Uint8ClampedArray;
}

/** Escape counts of one tile, row by row; `maxIterations` means "inside the set". */
export function mandelbrotCounts(task: MandelbrotTask, deadline: Deadline): Uint32Array {
  const { region, width, height, x, y, w, h, maxIterations } = task;
  const dx = (region.xMax - region.xMin) / width;
  const dy = (region.yMax - region.yMin) / height;
  const counts = new Uint32Array(w * h);
  for (let row = 0; row < h; row++) {
    checkDeadline(deadline);
    // Pixel centres; y grows downward in the image and upward in the plane.
    const ci = region.yMax - (y + row + 0.5) * dy;
    for (let col = 0; col < w; col++) {
      const cr = region.xMin + (x + col + 0.5) * dx;
      let zr = 0,
        zi = 0,
        zr2 = 0,
        zi2 = 0,
        n = 0;
      while (n < maxIterations && zr2 + zi2 <= 4) {
        zi = 2 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
        zr2 = zr * zr;
        zi2 = zi * zi;
        n++;
      }
      counts[row * w + col] = n;
    }
  }
  return counts;
}

/** Escape count → RGBA, with Bernstein polynomials (deterministic arithmetic only). */
export function paintCounts(counts: Uint32Array, maxIterations: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(counts.length * 4);
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!;
    const o = i * 4;
    out[o + 3] = 255;
    if (n >= maxIterations) continue; // inside: black
    const t = n / maxIterations;
    const u = 1 - t;
    out[o] = Math.floor(9 * u * t * t * t * 255);
    out[o + 1] = Math.floor(15 * u * u * t * t * 255);
    out[o + 2] = Math.floor(8.5 * u * u * u * t * 255);
  }
  return out;
}

export function renderTile(task: MandelbrotTask, deadline: Deadline): MandelbrotTile {
  const pixels = paintCounts(mandelbrotCounts(task, deadline), task.maxIterations);
  return { x: task.x, y: task.y, w: task.w, h: task.h, rgba: bytesToBase64(new Uint8Array(pixels.buffer)) };
}

/** A tile's pixels, for drawing it as soon as it arrives (before the whole job is done). */
export function tilePixels(tile: MandelbrotTile): Uint8ClampedArray | null {
  const bytes = base64ToBytes(tile.rgba);
  if (!bytes || bytes.length !== tile.w * tile.h * 4) return null;
  return new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkTile(raw: unknown, task: MandelbrotTask): Checked<MandelbrotTile> {
  const decoded = decodeWith(tileSchema, raw);
  if (!decoded.ok) return decoded;
  const tile = decoded.value;
  if (tile.x !== task.x || tile.y !== task.y || tile.w !== task.w || tile.h !== task.h) {
    return { ok: false, error: `tile at (${tile.x},${tile.y}) ${tile.w}×${tile.h} does not answer the task at (${task.x},${task.y}) ${task.w}×${task.h}` };
  }
  if (!tilePixels(tile)) return { ok: false, error: `rgba is not base64 of ${task.w * task.h * 4} bytes` };
  return { ok: true, value: tile };
}

export const mandelbrotKind: TaskKind<MandelbrotParams, MandelbrotTask, MandelbrotTile, MandelbrotImage> = {
  name: 'mandelbrot',
  description: 'Mandelbrot set image, one task per tile',
  defaultChunks: 1, // unused: tiles of `tileSize` decide the task count
  maxResultBytes: 96 * 1024,
  maxRunMs: 60_000,
  validateParams: (raw) => decodeWith(paramsSchema, raw),
  // One task per tile: `chunks` is ignored, `tileSize` decides (the image draws tile by tile).
  split(params) {
    const tasks: MandelbrotTask[] = [];
    for (let y = 0; y < params.height; y += params.tileSize) {
      for (let x = 0; x < params.width; x += params.tileSize) {
        tasks.push({
          region: { ...params.region },
          width: params.width,
          height: params.height,
          x,
          y,
          w: Math.min(params.tileSize, params.width - x),
          h: Math.min(params.tileSize, params.height - y),
          maxIterations: params.maxIterations,
        });
      }
    }
    return tasks;
  },
  estimateCost: (task) => task.w * task.h,
  validateTaskParams: (raw) => decodeWith(taskSchema, raw),
  run: renderTile,
  validateResult: checkTile,
  merge(tiles, params) {
    const pixels = new Uint8ClampedArray(params.width * params.height * 4);
    for (const tile of tiles) {
      const tilePx = tilePixels(tile);
      if (!tilePx) throw new Error(`tile at (${tile.x},${tile.y}) has bad pixels`);
      for (let row = 0; row < tile.h; row++) {
        const from = row * tile.w * 4;
        pixels.set(tilePx.subarray(from, from + tile.w * 4), ((tile.y + row) * params.width + tile.x) * 4);
      }
    }
    return { width: params.width, height: params.height, pixels };
  },
};
