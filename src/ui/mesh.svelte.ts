// The UI's view of the node: the worker's immutable snapshots held in $state.raw, and the
// commands the panels may send. Components read getters; they never mutate a snapshot.
import type { MeshNode, NodeSnapshot } from '../mesh-node.ts';
import { hashString } from '../core/rng.ts';

export class MeshState {
  snapshot = $state.raw<NodeSnapshot | null>(null);
  lastError = $state<string | null>(null);

  constructor(private readonly node: MeshNode) {
    node.subscribe((snapshot) => {
      this.snapshot = snapshot;
    });
  }

  get slot(): number {
    return this.node.slot;
  }

  get startupError(): string | null {
    return this.node.error;
  }

  /** Runs a command; a refusal is shown to the person instead of being thrown away. */
  async run(name: string, ...args: unknown[]): Promise<unknown> {
    try {
      const value = await this.node.command(name, ...args);
      this.lastError = null;
      return value;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      return undefined;
    }
  }
}

/** Ids are 43 characters; people recognise the first few. */
export const shortId = (id: string): string => id.slice(0, 8);

/** A stable hue per node, so a node has the same colour everywhere in the UI. */
export function nodeHue(id: string): number {
  // Golden-angle steps spread nearby hashes around the colour wheel.
  return Math.round((hashString(id) * 137.508) % 360);
}
