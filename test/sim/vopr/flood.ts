// Bad frames a Byzantine node sends its linked peers, straight onto the link (bypassing its own
// runtime) so they meet the receiver's real decode path: PeerGuard, the frame decoder, each
// service's message decoder and signature checks. Malformed: random bytes. Replayed: a frame
// this node received earlier, sent back into the mesh as its own. Forged: such a frame with
// bytes changed inside. Oversized: more than a frame may hold.
import type { Rng } from '../../../src/core/rng.ts';
import { maxFrameBytes } from '../../../src/core/envelope.ts';
import type { FloodKind } from './plan.ts';

/** Frames kept per flooder for replays. */
const keptFrames = 64;

export class FrameStash {
  private readonly frames: Uint8Array[] = [];
  keep(bytes: Uint8Array): void {
    if (this.frames.length >= keptFrames) this.frames.splice(0, 1);
    this.frames.push(bytes.slice());
  }
  pick(rng: Rng): Uint8Array | undefined {
    return this.frames.length === 0 ? undefined : this.frames[rng.int(this.frames.length)];
  }
}

export function badFrame(kind: FloodKind, rng: Rng, stash: FrameStash): Uint8Array {
  switch (kind) {
    case 'malformed': {
      const out = new Uint8Array(1 + rng.int(300));
      for (let i = 0; i < out.length; i++) out[i] = rng.int(256);
      // Half of them look like JSON frames, to get past the first byte.
      if (rng.next() < 0.5) out[0] = 0x7b;
      return out;
    }
    case 'replayed':
      return stash.pick(rng)?.slice() ?? badFrame('malformed', rng, stash);
    case 'forged': {
      const base = stash.pick(rng);
      if (!base) return badFrame('malformed', rng, stash);
      const out = base.slice();
      const flips = 1 + rng.int(4);
      for (let i = 0; i < flips; i++) {
        const at = rng.int(out.length);
        // Printable characters, so the frame stays text and reaches the decoders and the signature checks.
        out[at] = 0x30 + rng.int(0x4a);
      }
      return out;
    }
    case 'oversized':
      return new Uint8Array(maxFrameBytes + 1 + rng.int(1024)).fill(0x20);
  }
}
