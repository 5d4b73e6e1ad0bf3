// One life of a simulated node, between a start and a crash or leave: what the network, the
// signaling server and the timers need to reach it. A later life of the same node (a restart)
// is a new NodeLife; messages and timers meant for an earlier one are dropped.
import type { NodeId } from '../../../src/core/types.ts';
import type { LinkHostEvents } from '../../../src/net/transport.ts';

export interface NodeLife {
  readonly id: NodeId;
  /** The node's position in the run (n0, n1, …), for traces and reports. */
  readonly index: number;
  /** False once this life has crashed or left. */
  alive: boolean;
  /** The runtime, once started (link events wait in the host until then). */
  events: LinkHostEvents | null;
  /**
   * Runs `fn` as this node: at once, or when it wakes if it sleeps (a frozen tab runs nothing;
   * what arrived meanwhile runs, in order, when it thaws); never once it is dead.
   */
  run(fn: () => void): void;
}

/** Gathers every observable step of a run into one hash, so two runs of a seed can be compared. */
export interface TraceSink {
  note(text: string): void;
  bytes(data: Uint8Array): void;
}
