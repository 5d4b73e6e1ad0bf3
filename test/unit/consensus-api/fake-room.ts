// A room for testing an app's state machine without browsers: the real replicated state
// (ReplicatedState with its app machines), the real worker bridge (AppMachinesBridge) per node
// and the real page side (createConsensus). Only pBFT's agreement is replaced: `commit()` runs
// the queued requests as one batch, as a quorum would have ordered them, on the state all
// nodes share. Events reach a page asynchronously and cloned, as over postMessage.
import { asNodeId, type NodeId } from '../../../src/core/types.ts';
import { defaultPbftParams } from '../../../src/core/pbft/constants.ts';
import type { Batch } from '../../../src/core/pbft/messages.ts';
import type { Op, PbftReplica } from '../../../src/core/pbft/index.ts';
import type { CommittedEntry } from '../../../src/core/pbft/types.ts';
import { ReplicatedState } from '../../../src/core/pbft/state-machine.ts';
import type { NodeBackend } from '../../../src/api/backend.ts';
import { AppMachinesBridge } from '../../../src/worker/services/pbft-apps.ts';
import type { CommittedProposal } from '../../../src/worker/services/pbft-proposals.ts';

export interface FakeNode {
  id: NodeId;
  backend: NodeBackend;
  bridge: AppMachinesBridge;
  /** Drops this node's app events while true (a lost message, a page that looked away). */
  deaf: boolean;
  /** Events delivered to this node's page, by name. */
  delivered: Record<string, number>;
  /** Sends an event payload straight to this node's page, as the worker would. */
  inject(name: string, payload: unknown): void;
}

export class FakeRoom {
  readonly state: ReplicatedState;
  readonly nodes = new Map<NodeId, FakeNode>();
  genesis = 'genesis-1';
  private queued: Array<{ client: NodeId; op: Op; done?: (c: CommittedProposal) => void }> = [];
  private readonly timestamps = new Map<NodeId, number>();

  constructor(readonly replicas: NodeId[]) {
    this.state = new ReplicatedState(replicas, defaultPbftParams);
  }

  node(name: string): FakeNode {
    const id = asNodeId(name);
    const existing = this.nodes.get(id);
    if (existing) return existing;
    const listeners = new Map<string, Set<(payload: unknown) => void>>();
    const deliver = (event: string, payload: unknown) => {
      node.delivered[event] = (node.delivered[event] ?? 0) + 1;
      const copy = structuredClone(payload);
      queueMicrotask(() => {
        for (const listener of listeners.get(event) ?? []) listener(copy);
      });
    };
    const bridge = new AppMachinesBridge({
      core: () =>
        ({
          appMachine: (n: string) => this.state.appMachine(n),
          view: () => ({ role: this.replicas.includes(id) ? 'replica' : 'observer' }),
        }) as unknown as PbftReplica,
      genesis: () => this.genesis,
      stopping: () => false,
      propose: (op) => new Promise((done) => this.queued.push({ client: id, op, done })),
      submit: (op) => {
        this.queued.push({ client: id, op });
        return true;
      },
      publish: (event, payload) => {
        if (!node.deaf) deliver(event, payload);
      },
    });
    const backend: NodeBackend = {
      command: async (name, ...args) => {
        const commands = bridge.commands as Record<string, (args: unknown[]) => unknown>;
        const command = commands[name];
        if (!command) throw new Error(`no command ${name}`);
        return structuredClone(await command(structuredClone(args)));
      },
      onEvent: (name, listener) => {
        const set = listeners.get(name) ?? new Set();
        set.add(listener);
        listeners.set(name, set);
        return () => set.delete(listener);
      },
      snapshot: () => null,
      subscribe: () => () => {},
      subscribeMemory: () => () => {},
      memory: () => undefined,
      close: () => {},
    };
    const node: FakeNode = { id, backend, bridge, deaf: false, delivered: {}, inject: (name, payload) => deliver(name, payload) };
    this.nodes.set(id, node);
    return node;
  }

  /** Requests waiting to be ordered. */
  get pending(): number {
    return this.queued.length;
  }

  /** Orders and executes everything queued as one batch; every node's worker hears of it. */
  commit(): number {
    const batch: Batch = this.queued.map(({ client, op }) => {
      const ts = (this.timestamps.get(client) ?? 0) + 1;
      this.timestamps.set(client, ts);
      return { body: { type: 'request', client, ts, op }, signer: client, sig: '' };
    });
    const waiting = this.queued;
    this.queued = [];
    const seq = this.state.seq + 1;
    const executed = this.state.execute(seq, `digest-${seq}`, batch);
    const entries: CommittedEntry[] = executed.map((e) => ({ client: e.client, ts: e.ts, op: e.op, result: e.result }));
    for (const node of this.nodes.values()) node.bridge.committed(seq, entries);
    executed.forEach((e, i) => waiting[i]?.done?.({ seq, result: e.result }));
    return waiting.length;
  }
}

/** Lets every queued microtask and promise chain (events, command round trips) run to its end. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Commits until nothing is queued and the pages have nothing left to do (votes arrive after applies). */
export async function commitAll(room: FakeRoom, maxRounds = 50): Promise<void> {
  for (let round = 0; round < maxRounds; round++) {
    await settle();
    if (room.pending === 0) return;
    room.commit();
  }
  throw new Error(`still ${room.pending} requests queued after ${maxRounds} rounds`);
}
