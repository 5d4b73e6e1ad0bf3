// The apps' own state machines, as the replicated state holds them. The app's code never runs
// here (nor travels over the mesh): pBFT only ORDERS each machine's operations, numbering them
// 1, 2, … per machine, and every node's app applies them in that order (src/api/consensus.ts).
// What this keeps, per machine, is what a node needs to catch up without the app's code:
//  - the certified snapshot: the app's state after operation `index`, on which f+1 replicas'
//    apps agreed (so at least one honest replica computed it);
//  - the operations after it (at most maxAppOpsRetained);
//  - the votes for later snapshots, and the divergences found: two replicas' apps that gave
//    different snapshots for the same index (the app is not deterministic). A divergence is
//    recorded and reported; the order of operations stays the one agreed — nothing forks.
// It is part of ReplicatedState, so pBFT checkpoints digest it and state transfer moves it.
import * as v from 'valibot';
import type { NodeId } from '../types.ts';
import {
  appCheckpointEveryOps,
  appMachineNamePattern,
  maxAppDivergencesKept,
  maxAppMachines,
  maxAppOpsRetained,
  maxAppSnapshotBytes,
  maxAppStateChars,
} from './app-limits.ts';
import { maxOpChars, maxReplicasCeiling } from './constants.ts';
import { canonicalBytes, checkJson, type JsonValue } from './json.ts';
import { nodeIdSchema, type Op, type OpResult } from './ops.ts';

export interface AppOpEntry {
  /** The operation's number in its machine. */
  index: number;
  /** The pBFT sequence number that committed it. */
  seq: number;
  client: NodeId;
  op: JsonValue;
}

export interface AppCertified {
  index: number;
  snapshot: JsonValue;
}

export interface AppVote {
  index: number;
  /** Distinct snapshots voted for `index`, each with its voters (replicas), in order of arrival. */
  variants: Array<{ snapshot: JsonValue; voters: NodeId[] }>;
}

/** One machine in canonical form: what is digested and transferred. */
export interface AppMachineState {
  name: string;
  /** Operations ordered so far (the index of the last). */
  ordered: number;
  certified: AppCertified | null;
  /** Operations after `certified.index`, in order. */
  ops: AppOpEntry[];
  /** Votes above the certified index, lowest index first. */
  votes: AppVote[];
  /** Indices where replicas' snapshots differed (counted once per index). */
  divergences: number;
  /** The newest of those, with how many distinct snapshots were seen. */
  diverged: Array<{ index: number; variants: number }>;
}

type AppOp = Extract<Op, { kind: 'app' | 'app-checkpoint' }>;

export class AppMachines {
  private readonly machines = new Map<string, AppMachineState>();
  private chars = 0;

  static fromSnapshot(list: readonly AppMachineState[]): AppMachines {
    const apps = new AppMachines();
    for (const m of list) {
      const copy = structuredClone(m);
      apps.machines.set(m.name, copy);
      apps.chars += machineChars(copy);
    }
    return apps;
  }

  /** Canonical form, sorted by name. */
  snapshot(): AppMachineState[] {
    return [...this.machines.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((m) => structuredClone(m));
  }

  get size(): number {
    return this.machines.size;
  }

  /**
   * One machine as held here, or undefined when it has no operation yet. The replicated state
   * itself, not a copy (the snapshot reads it often): never modify it; copy it to hand it on.
   */
  get(name: string): Readonly<AppMachineState> | undefined {
    return this.machines.get(name);
  }

  /** Executes an app operation committed at `seq` by `client`; `replicas` is the set that ordered it. */
  apply(seq: number, client: NodeId, op: AppOp, replicas: readonly NodeId[], faults: number): OpResult {
    return op.kind === 'app' ? this.order(seq, client, op) : this.vote(client, op, replicas, faults);
  }

  private order(seq: number, client: NodeId, op: Extract<AppOp, { kind: 'app' }>): OpResult {
    let m = this.machines.get(op.machine);
    if (!m) {
      if (this.machines.size >= maxAppMachines) return refused(`this room has ${maxAppMachines} state machines already; use one of them`);
      m = { name: op.machine, ordered: 0, certified: null, ops: [], votes: [], divergences: 0, diverged: [] };
    }
    if (m.ops.length >= maxAppOpsRetained) {
      return refused(`${maxAppOpsRetained} operations of ${op.machine} wait for a checkpoint: f+1 replicas must run this state machine`);
    }
    const entry: AppOpEntry = { index: m.ordered + 1, seq, client, op: op.op };
    const added = entryChars(entry) + (this.machines.has(op.machine) ? 0 : machineBaseChars(op.machine));
    if (this.chars + added > maxAppStateChars) return refused(`the apps' replicated state is full (${maxAppStateChars} characters)`);
    this.machines.set(op.machine, m);
    this.chars += added;
    m.ordered = entry.index;
    m.ops.push(entry);
    return { ok: true, index: entry.index };
  }

  private vote(client: NodeId, op: Extract<AppOp, { kind: 'app-checkpoint' }>, replicas: readonly NodeId[], faults: number): OpResult {
    if (!replicas.includes(client)) return refused('only a replica votes a snapshot');
    const m = this.machines.get(op.machine);
    if (!m) return refused(`no operation of ${op.machine} was ordered`);
    if (op.index % appCheckpointEveryOps !== 0) return refused(`snapshots are voted every ${appCheckpointEveryOps} operations`);
    if (op.index > m.ordered) return refused(`operation ${op.index} of ${op.machine} is not ordered yet`);
    const text = canonicalBytes(op.snapshot);
    const certified = m.certified;
    if (certified && op.index <= certified.index) {
      if (op.index < certified.index) return refused('an older snapshot than the certified one');
      // A late vote for the certified index: a replica whose app disagrees is still found out.
      if (canonicalBytes(certified.snapshot) === text) return { ok: true, index: op.index, note: 'already certified' };
      this.diverged(m, op.index, 2);
      return { ok: true, index: op.index, variants: 2, note: 'differs from the certified snapshot' };
    }
    let vote = m.votes.find((x) => x.index === op.index);
    if (vote?.variants.some((x) => x.voters.includes(client))) return refused('this replica voted for this index already');
    const variant = vote?.variants.find((x) => canonicalBytes(x.snapshot) === text);
    const added = (variant ? 0 : text.length + variantBaseChars) + client.length + voterChars;
    if (this.chars + added > maxAppStateChars) return refused(`the apps' replicated state is full (${maxAppStateChars} characters)`);
    this.chars += added;
    if (!vote) {
      vote = { index: op.index, variants: [] };
      m.votes.push(vote);
      m.votes.sort((a, b) => a.index - b.index);
    }
    if (variant) variant.voters.push(client);
    else vote.variants.push({ snapshot: op.snapshot, voters: [client] });
    const variants = vote.variants.length;
    if (variants === 2) this.diverged(m, op.index, variants);
    else if (variants > 2) this.noteVariants(m, op.index, variants);
    const winner = vote.variants.find((x) => x.voters.length >= faults + 1);
    if (!winner) return { ok: true, index: op.index, certified: false, variants };
    this.certify(m, { index: op.index, snapshot: winner.snapshot });
    return { ok: true, index: op.index, certified: true, variants };
  }

  /** The snapshot at `c.index` is the machine's state there: older operations and votes go. */
  private certify(m: AppMachineState, c: AppCertified): void {
    const before = machineChars(m);
    m.certified = c;
    m.ops = m.ops.filter((e) => e.index > c.index);
    m.votes = m.votes.filter((x) => x.index > c.index);
    this.chars += machineChars(m) - before;
  }

  private diverged(m: AppMachineState, index: number, variants: number): void {
    if (m.diverged.some((d) => d.index === index)) return this.noteVariants(m, index, variants);
    m.divergences++;
    m.diverged.push({ index, variants });
    if (m.diverged.length > maxAppDivergencesKept) m.diverged.shift();
  }

  private noteVariants(m: AppMachineState, index: number, variants: number): void {
    const d = m.diverged.find((x) => x.index === index);
    if (d) d.variants = Math.max(d.variants, variants);
  }
}

const refused = (note: string): OpResult => ({ ok: false, note });

function entryChars(e: AppOpEntry): number {
  return canonicalBytes(e).length;
}

const variantBaseChars = 16;
const voterChars = 3;
const machineBaseChars = (name: string) => name.length + 128;

/**
 * What a machine counts against maxAppStateChars: about its JSON size, by a rule that the
 * incremental counts in order() and vote() follow exactly (every replica gets the same total).
 */
function machineChars(m: AppMachineState): number {
  let chars = machineBaseChars(m.name) + (m.certified ? canonicalBytes(m.certified.snapshot).length : 0);
  for (const e of m.ops) chars += entryChars(e);
  for (const vote of m.votes) {
    for (const x of vote.variants) chars += canonicalBytes(x.snapshot).length + variantBaseChars + x.voters.reduce((n, id) => n + id.length + voterChars, 0);
  }
  return chars;
}

// ── decoding (state transfer, storage) ──────────────────────────────────────────────────

const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const json = (maxChars: number) => v.custom<JsonValue>((x) => checkJson(x, maxChars) === null, 'not plain JSON within the limit');

export const appMachinesSchema = v.pipe(
  v.array(
    v.strictObject({
      name: v.pipe(v.string(), v.regex(appMachineNamePattern)),
      ordered: count,
      certified: v.nullable(v.strictObject({ index: count, snapshot: json(maxAppSnapshotBytes) })),
      ops: v.pipe(v.array(v.strictObject({ index: count, seq: count, client: nodeIdSchema, op: json(maxOpChars) })), v.maxLength(maxAppOpsRetained)),
      votes: v.pipe(
        v.array(
          v.strictObject({
            index: count,
            variants: v.pipe(
              v.array(v.strictObject({ snapshot: json(maxAppSnapshotBytes), voters: v.pipe(v.array(nodeIdSchema), v.maxLength(maxReplicasCeiling)) })),
              v.maxLength(maxReplicasCeiling),
            ),
          }),
        ),
        v.maxLength(maxAppOpsRetained / appCheckpointEveryOps),
      ),
      divergences: count,
      diverged: v.pipe(v.array(v.strictObject({ index: count, variants: count })), v.maxLength(maxAppDivergencesKept)),
    }),
  ),
  v.maxLength(maxAppMachines),
) as unknown as v.GenericSchema<unknown, AppMachineState[]>;
