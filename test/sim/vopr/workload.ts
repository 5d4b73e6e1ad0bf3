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

/** An acknowledged operation and the genesis its proposer followed when propose() resolved. */
export type GenesisAckedOp = AckedOp & { genesis: string | null };

export class Workload {
  readonly acked: GenesisAckedOp[] = [];
  failedProposals = 0;
  proposals = 0;
  readonly jobs: SubmittedJob[] = [];
  jobErrors = 0;
  memoryWrites = 0;
  /** Each genesis seen at an acknowledgement: who founded it, when (its founder's wall clock). */
  readonly geneses = new Map<string, { founder: string; foundedAt: number }>();
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
        const info = (this.cluster.snapshot(node)?.consensus as { genesis?: { id: string; founder: string; foundedAt: number } | null } | undefined)?.genesis;
        const genesis = info?.id ?? null;
        if (info && !this.geneses.has(info.id)) this.geneses.set(info.id, { founder: info.founder, foundedAt: info.foundedAt });
        this.acked.push({ op, seq, by: node.id, genesis });
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
