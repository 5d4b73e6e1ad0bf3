// The worker's side of the apps' own state machines (src/core/pbft/app-machines.ts orders
// them, src/api/consensus.ts runs them in the app). The app's code never comes here: this
// hands each committed operation to the page, in order, as an app event, answers the page's
// questions about a machine (its certified snapshot and the operations after it), turns the
// page's proposals and snapshot votes into pBFT requests, and counts what went wrong.
//
// App events (payloads are checked by the page, src/api/consensus-wire.ts):
//   consensus-op          { genesis, machine, index, seq, client, op }  an operation to apply
//   consensus-checkpoint  { genesis, machine, index, certified, variants, snapshot? }
//                         a snapshot vote that certified (snapshot: the certified one) or
//                         showed replicas disagreeing (variants > 1)
//   consensus-sync        { genesis }  the node jumped (state transfer, another genesis):
//                         pages ask for the machine's state again
import { decodeOp, type AppMachineState, type CommittedEntry, type Op, type PbftReplica } from '../../core/pbft/index.ts';
import { canonicalJson } from '../../core/canonical-json.ts';
import { CommandError } from '../command-error.ts';
import type { CommittedProposal } from './pbft-proposals.ts';

/** What the bridge needs of the pBFT service. */
export interface AppMachinesHost {
  /** The running core, or null while there is none (bootstrapping, switching genesis). */
  core(): PbftReplica | null;
  /** The id of the genesis this node follows: a machine's numbering is per genesis. */
  genesis(): string | null;
  stopping(): boolean;
  /** Opens a proposal (as window.tabmesh.propose does); settles once f+1 replicas replied alike. */
  propose(op: Op): Promise<CommittedProposal>;
  /** Hands a request to the core without waiting for its result (snapshot votes). */
  submit(op: Op, tag: string): boolean;
  publish(name: string, payload: unknown): void;
}

/** What a page reports that went wrong in its app's machine (counted in the snapshot). */
export const appReportKinds = ['threw', 'diverged', 'bad-snapshot'] as const;
export type AppReportKind = (typeof appReportKinds)[number];

/** Machines this node describes in its snapshot at most (the room holds at most maxAppMachines). */
const maxMachinesShown = 16;

export interface AppMachineView {
  name: string;
  /** Operations ordered so far. */
  ordered: number;
  /** The index of the certified snapshot (0: none yet). */
  certifiedIndex: number;
  /** Operations kept after it. */
  retained: number;
  /** Indices where replicas' snapshots differed (replicated: the same on every node). */
  divergences: number;
  /** This node's app: operations that threw, snapshots that differed from the certified one, snapshots refused. */
  local: Record<AppReportKind, number>;
}

/** The reply to `consensus-state`: a machine as this node holds it. */
export interface AppMachineStateReply {
  genesis: string | null;
  ordered: number;
  certified: AppMachineState['certified'];
  ops: AppMachineState['ops'];
}

export class AppMachinesBridge {
  private readonly local = new Map<string, Record<AppReportKind, number>>();
  private readonly known = new Set<string>();
  private voteTag = 0;

  constructor(private readonly host: AppMachinesHost) {}

  readonly commands = {
    /** Orders an operation of machine `name`; resolves with { seq, index, genesis } once committed. */
    'consensus-propose': async (args: unknown[]): Promise<{ seq: number; index: number; genesis: string | null }> => {
      if (this.host.stopping()) throw new CommandError('closed', 'this node is shutting down');
      const op = this.appOp(args[0], args[1]);
      let committed: CommittedProposal;
      try {
        committed = await this.host.propose(op);
      } catch (error) {
        throw new CommandError('not-committed', error instanceof Error ? error.message : String(error));
      }
      const { result } = committed;
      if (!result.ok || result.index === undefined) throw new CommandError('refused', `the room refused the operation: ${result.note ?? 'no reason given'}`);
      return { seq: committed.seq, index: result.index, genesis: this.host.genesis() };
    },
    /** The machine as held here: its certified snapshot and the operations after it. */
    'consensus-state': (args: unknown[]): AppMachineStateReply => {
      const name = this.machineName(args[0]);
      const m = this.host.core()?.appMachine(name);
      // A copy: the reply must not share the replicated state with anyone (in Node nothing clones it on the way).
      return structuredClone({ genesis: this.host.genesis(), ordered: m?.ordered ?? 0, certified: m?.certified ?? null, ops: m?.ops ?? [] });
    },
    /** The app's snapshot after operation `index`: voted when this node is a replica (resolves true), else ignored (false). */
    'consensus-vote': (args: unknown[]): boolean => {
      const decoded = decodeOp({ kind: 'app-checkpoint', machine: this.machineName(args[0]), index: args[1], snapshot: args[2] });
      if (!decoded.ok) throw new CommandError('bad-snapshot', `snapshot vote refused: ${decoded.error}`);
      const core = this.host.core();
      if (!core || this.host.stopping() || core.view().role !== 'replica') return false;
      return this.host.submit(decoded.value, `app-vote:${++this.voteTag}`);
    },
    /** The page's app hit a problem with machine `name` (an apply threw, its state diverged, a snapshot was refused). */
    'consensus-report': (args: unknown[]): true => {
      const name = this.machineName(args[0]);
      const kind = args[1];
      if (!appReportKinds.includes(kind as AppReportKind)) throw new CommandError('bad-report', `report kind must be one of ${appReportKinds.join(', ')}`);
      const counts = this.countsOf(name);
      if (counts) counts[kind as AppReportKind]++;
      return true;
    },
  };

  /** Called for every committed batch's entries, in order. */
  committed(seq: number, entries: readonly CommittedEntry[]): void {
    const genesis = this.host.genesis();
    for (const { op, result, client } of entries) {
      if (op.kind === 'app' && result.ok && result.index !== undefined) {
        this.remember(op.machine);
        this.host.publish('consensus-op', { genesis, machine: op.machine, index: result.index, seq, client, op: op.op });
      } else if (op.kind === 'app-checkpoint' && result.ok && (result.certified === true || (result.variants ?? 0) > 1)) {
        this.host.publish('consensus-checkpoint', {
          genesis,
          machine: op.machine,
          index: op.index,
          certified: result.certified === true,
          variants: result.variants ?? 1,
          // The vote that certifies is one of the f+1 matching ones: its snapshot is the certified one.
          ...(result.certified === true ? { snapshot: canonicalJson(op.snapshot) } : {}),
        });
      }
    }
  }

  /** The node jumped over operations (state transfer) or started over (another genesis). */
  jumped(): void {
    this.host.publish('consensus-sync', { genesis: this.host.genesis() });
  }

  /** The machines this node has seen, for its snapshot. */
  view(): AppMachineView[] {
    const core = this.host.core();
    return [...this.known].map((name) => {
      const m = core?.appMachine(name);
      return {
        name,
        ordered: m?.ordered ?? 0,
        certifiedIndex: m?.certified?.index ?? 0,
        retained: m?.ops.length ?? 0,
        divergences: m?.divergences ?? 0,
        local: { ...(this.local.get(name) ?? zeroCounts()) },
      };
    });
  }

  private appOp(name: unknown, op: unknown): Op {
    const decoded = decodeOp({ kind: 'app', machine: this.machineName(name), op });
    if (!decoded.ok) throw new CommandError('bad-op', `the operation is refused: ${decoded.error}`);
    return decoded.value;
  }

  private machineName(raw: unknown): string {
    const decoded = decodeOp({ kind: 'app', machine: raw, op: null });
    if (!decoded.ok || decoded.value.kind !== 'app') {
      throw new CommandError('bad-name', 'a machine name is 1–64 of a-z, 0-9, dash, dot and underscore, starting with a letter');
    }
    this.remember(decoded.value.machine);
    return decoded.value.machine;
  }

  private remember(name: string): void {
    if (this.known.size < maxMachinesShown) this.known.add(name);
  }

  private countsOf(name: string): Record<AppReportKind, number> | undefined {
    let counts = this.local.get(name);
    if (!counts && this.local.size < maxMachinesShown) this.local.set(name, (counts = zeroCounts()));
    return counts;
  }
}

const zeroCounts = (): Record<AppReportKind, number> => ({ threw: 0, diverged: 0, 'bad-snapshot': 0 });
