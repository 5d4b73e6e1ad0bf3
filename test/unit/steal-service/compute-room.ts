// Nodes for the work-stealing scenarios, in a RealRoom (whole real nodes): each with a compute
// pool of its own (scenario-compute.ts: task time, lies, hangs, or none at all) and, for app
// kernels, a page (sim-page.ts). Resolves once every node is linked to every other and has heard
// each one's load advert, so a job submitted next can be shared out at once.
import type { SimNode } from '../../sim/real-node/real-cluster.ts';
import type { RealRoom } from '../../sim/real-node/real-room.ts';
import { scenarioPool, type KernelCount, type ScenarioPoolOptions } from '../../sim/real-node/scenario-compute.ts';
import { SimPage } from '../../sim/real-node/sim-page.ts';

export interface ComputeNodeSpec extends ScenarioPoolOptions {
  /** 0: the node has no compute pool (it hands its jobs out, computes none). */
  workers?: 0 | 1;
  /** An app runs on the node's page (app events, createCompute). */
  app?: boolean;
}

export interface ComputeNode {
  node: SimNode;
  kernels: KernelCount;
  page: SimPage;
}

export async function computeNodes(room: RealRoom, specs: ComputeNodeSpec[]): Promise<ComputeNode[]> {
  const added = specs.map((spec) => addComputeNode(room, spec));
  await room.runUntil(
    () => added.every(({ node }) => node.isUp && room.compute(node).peers.length === added.length - 1),
    `${added.length} nodes linked, each with every other's load advert`,
  );
  return added;
}

export function addComputeNode(room: RealRoom, spec: ComputeNodeSpec = {}): ComputeNode {
  const kernels: KernelCount = { runs: 0 };
  const page = new SimPage();
  const node = room.add({
    computePool: spec.workers === 0 ? () => null : scenarioPool(kernels, spec),
    ...(spec.app ? page.setup() : {}),
  });
  page.node = node;
  return { node, kernels, page };
}
