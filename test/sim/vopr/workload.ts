// What the users of a VOPR room do: propose operations (each unique, so an acknowledged one can
// be found in every log), write shared memory, and submit small compute jobs — on random honest
// nodes that are running, through the same commands a page calls.
import type { AckedOp } from '../../../chaos/checks.ts';
import type { Rng } from '../../../src/core/rng.ts';
import type { RealCluster, SimNode } from '../real-node/real-cluster.ts';

export interface SubmittedJob {
  id: string;
  home: SimNode;
  to: number;
}

export class Workload {
  readonly acked: AckedOp[] = [];
  failedProposals = 0;
  proposals = 0;
  readonly jobs: SubmittedJob[] = [];
  jobErrors = 0;
  memoryWrites = 0;
  private counter = 0;

  constructor(
    private readonly cluster: RealCluster,
    private readonly rng: Rng,
  ) {}

  /** Proposes a unique operation at `node`; resolves with its sequence number, or null if refused. */
  propose(node: SimNode, tag = 'op'): Promise<number | null> {
    const op = { kind: 'decision' as const, value: `${tag}-${++this.counter}` };
    const started = this.cluster.command(node, 'propose', op);
    this.proposals++;
    if (!started?.ok) {
      this.failedProposals++;
      return Promise.resolve(null);
    }
    return (started.value as Promise<number>).then(
      (seq) => {
        this.acked.push({ op, seq, by: node.id });
        return seq;
      },
      () => {
        this.failedProposals++;
        return null;
      },
    );
  }

  setMemory(node: SimNode, key = `k${this.rng.int(16)}`, value: unknown = `v${++this.counter}`): void {
    const done = this.cluster.command(node, 'setMemory', key, value);
    if (done?.ok) this.memoryWrites++;
  }

  submitJob(node: SimNode): void {
    const to = 2_000 + this.rng.int(20_000);
    const chunks = 1 + this.rng.int(6);
    const started = this.cluster.command(node, 'submitJob', { kind: 'primes', params: { from: 0, to }, chunks });
    if (!started?.ok) {
      this.jobErrors++;
      return;
    }
    (started.value as Promise<string>).then(
      (id) => this.jobs.push({ id, home: node, to }),
      () => this.jobErrors++,
    );
  }
}
