// Shared vocabulary of the pure protocol cores. Nothing here does I/O or reads a clock.

/**
 * A node's identity. In a tab or a Node peer it is the base64url form of the node's raw
 * Ed25519 public key (43 characters), so any signature can be checked from the id alone.
 * In large simulations any short unique string will do: cores never interpret it.
 */
export type NodeId = string & { readonly __brand: 'NodeId' };

/** Milliseconds on the runtime's clock: wall time in a tab, virtual time in the simulator. */
export type Millis = number;

export const asNodeId = (raw: string): NodeId => raw as NodeId;

/** Sort ids the same way on every node (cores use this wherever order must be deterministic). */
export function compareNodeIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The protocols that share one link; every peer frame names which core it is for ('channel': the app's channels). */
/** 'status' carries no frames: the status-record service only reads the others. */
/** 'health' and 'settings' carry none either: they read and configure the others. */
/** 'members' carries none: it tells the app who is in the room (services/membership-events.ts). */
/** 'demo' carries the demo view's trace asks and fault commands (services/demo.ts). */
export type ProtocolTag = 'gossip' | 'overlay' | 'route' | 'pbft' | 'steal' | 'link' | 'channel' | 'status' | 'health' | 'settings' | 'members' | 'demo';
