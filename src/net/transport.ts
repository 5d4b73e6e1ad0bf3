// The edge between a node's runtime and whatever actually carries bytes between nodes.
// In a tab, WebRTC lives on the main thread (workers have no RTCPeerConnection), so the
// worker's LinkHost posts to the page's PeerHost; a Node peer hosts its connections in-process;
// the simulator delivers in memory. The runtime only ever sees this interface.
import type { NodeId } from '../core/types.ts';
import type { IceServer } from '../worker/protocol.ts';

export type { IceServer };

/** Opaque WebRTC signal data (SDP or ICE candidate) in simple-peer's shapes, as NativePeer emits and accepts it. */
export type RawSignal = Record<string, unknown>;

/** Commands from the runtime to the link host. `linkId` names one attempt at a link. */
export interface LinkHost {
  open(peer: NodeId, linkId: string, initiator: boolean, iceServers: IceServer[]): void;
  signal(peer: NodeId, linkId: string, signal: RawSignal): void;
  send(peer: NodeId, linkId: string, bytes: Uint8Array<ArrayBuffer>): void;
  close(peer: NodeId, linkId: string): void;
  /** Resolves once what was sent has left (or after maxMs); hosts that cannot tell resolve at once. */
  flushed?(maxMs: number): Promise<void>;
  /** Frames to send on every open link if this node goes away abruptly (see Service.lastWords). */
  setLastWords?(frames: Uint8Array<ArrayBuffer>[]): void;
}

/** What the link host reports back to the runtime. */
export interface LinkHostEvents {
  up(peer: NodeId, linkId: string): void;
  down(peer: NodeId, linkId: string, reason: string): void;
  signal(peer: NodeId, linkId: string, signal: RawSignal): void;
  data(peer: NodeId, linkId: string, bytes: Uint8Array): void;
}
