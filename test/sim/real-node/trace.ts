// The run's trace hash: every frame delivered (who to whom, its bytes), every join, every fault,
// at its virtual time, folded into one SHA-256. Two runs of one seed give the same hash.
//
// What is traced is gathered in a buffer and hashed a block at a time: a hash update per frame
// cost more in calls than in hashing at 256 nodes. SHA-256 over the same bytes in the same order
// is the same hash, however they are split.
import { createHash, type Hash } from 'node:crypto';
import type { TraceSink } from './node-life.ts';
import type { VirtualScheduler } from './scheduler.ts';

/** Bytes gathered before they are handed to the hash. */
const blockBytes = 64 * 1024;

export class TraceHash implements TraceSink {
  private readonly hash: Hash = createHash('sha256');
  private readonly block = Buffer.allocUnsafe(blockBytes);
  private used = 0;
  steps = 0;

  constructor(private readonly scheduler: VirtualScheduler) {}

  note(text: string): void {
    this.steps++;
    const line = `${this.scheduler.now} ${text}\n`;
    // A UTF-16 unit is at most 3 bytes of UTF-8: room for that many never truncates the line.
    const most = line.length * 3;
    if (most > blockBytes - this.used) this.flush();
    if (most > blockBytes) this.hash.update(line);
    else this.used += this.block.write(line, this.used, 'utf8');
  }

  bytes(data: Uint8Array): void {
    if (data.byteLength > blockBytes - this.used) this.flush();
    if (data.byteLength > blockBytes) this.hash.update(data);
    else {
      this.block.set(data, this.used);
      this.used += data.byteLength;
    }
  }

  /** The hash so far (the run goes on; this does not end it). */
  digest(): string {
    this.flush();
    return this.hash.copy().digest('hex').slice(0, 16);
  }

  private flush(): void {
    if (this.used === 0) return;
    this.hash.update(this.block.subarray(0, this.used));
    this.used = 0;
  }
}
