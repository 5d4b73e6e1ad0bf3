// The run's trace hash: every frame delivered (who to whom, its bytes), every join, every fault,
// at its virtual time, folded into one SHA-256. Two runs of one seed give the same hash.
import { createHash, type Hash } from 'node:crypto';
import type { TraceSink } from './node-life.ts';
import type { VirtualScheduler } from './scheduler.ts';

export class TraceHash implements TraceSink {
  private readonly hash: Hash = createHash('sha256');
  steps = 0;

  constructor(private readonly scheduler: VirtualScheduler) {}

  note(text: string): void {
    this.steps++;
    this.hash.update(`${this.scheduler.now} ${text}\n`);
  }

  bytes(data: Uint8Array): void {
    this.hash.update(data);
  }

  /** The hash so far (the run goes on; this does not end it). */
  digest(): string {
    return this.hash.copy().digest('hex').slice(0, 16);
  }
}
