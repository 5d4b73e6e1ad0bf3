// Debug commands for fault-injection runs (the chaos run, `npm run chaos`): they make this node
// misbehave towards one peer at the link level, so that peer's PeerGuard (peer-guard.ts) has
// something real to throttle and cut off. They hurt only the link they are aimed at; nothing is
// sent that an honest node would send, and nothing here touches this node's own state.
import type { NodeId } from '../core/types.ts';
import { maxFrameBytes } from '../core/envelope.ts';
import type { NodeRuntime } from './runtime.ts';

/** What a flood sends: well-formed frames far over the rate limit, the largest frames a channel carries, undecodable bytes, or all three in turn. */
export const floodKinds = ['rapid', 'large', 'garbage', 'mixed'] as const;
export type FloodKind = (typeof floodKinds)[number];

/** Most frames one flood call sends (a flood is over in well under a second of the sender's time). */
export const maxFloodFrames = 20_000;
/**
 * Most full-size frames one call sends: 40 × 256 KiB = 10 MiB, under the 16 MiB a Chromium
 * data channel buffers before it closes itself (which would end the flood on our side, not theirs).
 */
export const maxLargeFloodFrames = 40;
/** Bytes of one garbage frame: not UTF-8 JSON, so the receiver's decoder refuses it. */
const garbageFrameBytes = 64;

export interface FloodReport {
  peer: string;
  kind: FloodKind;
  /** Frames handed to the link, by what they were (all 0 once the link is gone). */
  sent: { rapid: number; large: number; garbage: number };
  /** True when the link went down before every frame was handed over (the receiver cut us off). */
  linkLost: boolean;
}

type Command = (runtime: NodeRuntime, args: unknown[]) => unknown;

const encoder = new TextEncoder();

/** A valid link frame that the receiver decodes and ignores (a pong for no ping): costs it a decode, nothing more. */
function rapidFrame(n: number): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify({ p: 'link', m: { type: 'pong', n: 1_000_000_000 + n } }));
}

/** A frame of exactly maxFrameBytes: a valid chat envelope padded past what a chat may hold, so it is refused after the byte limit is charged. */
function largeFrame(): Uint8Array<ArrayBuffer> {
  const head = '{"p":"link","m":{"type":"chat","text":"';
  const tail = '"}}';
  return encoder.encode(head + 'x'.repeat(maxFrameBytes - head.length - tail.length) + tail);
}

function garbageFrame(n: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(garbageFrameBytes);
  // 0xff never occurs in UTF-8; the counter keeps every frame distinct.
  bytes.fill(0xff);
  new DataView(bytes.buffer).setUint32(0, n);
  return bytes;
}

function floodArgs(args: unknown[]): { peer: NodeId; frames: number; kind: FloodKind } {
  const [peer, frames, kind = 'mixed'] = args;
  if (typeof peer !== 'string' || peer.length === 0) throw new Error('flood(peer, frames, kind?): peer must be the id of a directly linked node');
  if (typeof frames !== 'number' || !Number.isInteger(frames) || frames < 1 || frames > maxFloodFrames) {
    throw new Error(`flood(peer, frames, kind?): frames must be a whole number from 1 to ${maxFloodFrames}`);
  }
  if (typeof kind !== 'string' || !(floodKinds as readonly string[]).includes(kind)) {
    throw new Error(`flood(peer, frames, kind?): kind must be one of ${floodKinds.join(', ')}`);
  }
  return { peer: peer as NodeId, frames, kind: kind as FloodKind };
}

/** How many frames of each sort a flood of `frames` sends, in the order they go out. */
export function floodPlan(kind: FloodKind, frames: number): { rapid: number; large: number; garbage: number } {
  switch (kind) {
    case 'rapid':
      return { rapid: frames, large: 0, garbage: 0 };
    case 'large':
      return { rapid: 0, large: Math.min(frames, maxLargeFloodFrames), garbage: 0 };
    case 'garbage':
      return { rapid: 0, large: 0, garbage: frames };
    case 'mixed': {
      const large = Math.min(maxLargeFloodFrames, Math.floor(frames / 10));
      const garbage = Math.min(64, Math.floor(frames / 10));
      return { rapid: frames - large - garbage, large, garbage };
    }
  }
}

function flood(runtime: NodeRuntime, args: unknown[]): FloodReport {
  const { peer, frames, kind } = floodArgs(args);
  const plan = floodPlan(kind, frames);
  const sent = { rapid: 0, large: 0, garbage: 0 };
  const big = plan.large > 0 ? largeFrame() : null;
  // Each send transfers its buffer to the page, so every large frame is a fresh copy.
  const queue: Array<[keyof typeof sent, number, (i: number) => Uint8Array<ArrayBuffer>]> = [
    ['rapid', plan.rapid, rapidFrame],
    ['large', plan.large, () => (big as Uint8Array<ArrayBuffer>).slice()],
    ['garbage', plan.garbage, garbageFrame],
  ];
  let linkLost = false;
  for (const [what, count, make] of queue) {
    for (let i = 0; i < count && !linkLost; i++) {
      if (runtime.sendRawFrame(peer, make(i))) sent[what]++;
      else linkLost = true;
    }
  }
  if (sent.rapid + sent.large + sent.garbage === 0) throw new Error(`flood: no direct link to ${peer} is up`);
  return { peer, kind, sent, linkLost };
}

export const debugCommands: Record<string, Command> = {
  /** `flood(peer, frames, kind = 'mixed')` → FloodReport: see floodKinds. */
  flood,
};
