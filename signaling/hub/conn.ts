// One signaling connection as the hub sees it: its socket, its challenge, its limits and the
// few flags that say where in its life it is.
import type { WebSocket } from 'ws';
import { newChallenge } from '../identity.ts';
import { StrikeCounter, TokenBucket } from '../rate-limit.ts';
import type { HubConfig } from './config.ts';

export interface Conn {
  readonly ws: WebSocket;
  readonly challenge: string;
  readonly openedMs: number;
  /** The client's address as the per-address caps count it (client-address.ts addressKey). */
  readonly address: string;
  readonly bucket: TokenBucket;
  readonly byteBucket: TokenBucket;
  readonly strikes: StrikeCounter;
  /** The payload of the ping not answered yet; null when the last one was answered (or none sent). */
  pingNonce: Buffer | null;
  /** Since when the send buffer has been over the limit; null while it is not. */
  overBufferSinceMs: number | null;
  /** Holds one unit of the address's connection quota (released on close). */
  holdsConnectionQuota: boolean;
  /** A close was started by the server; later frames are ignored. */
  closing: boolean;
  /** Cluster only: the join is admitted locally and waits for the cluster's answer. */
  joinPending: boolean;
  /** Cluster only: holds a cluster-wide connection unit for its address (given back on close). */
  holdsClusterConnection: boolean;
}

/** A connection just admitted: it holds one unit of its address's connection quota already. */
export function newConn(ws: WebSocket, address: string, config: HubConfig, openedMs: number): Conn {
  return {
    ws,
    challenge: newChallenge(),
    openedMs,
    address,
    bucket: new TokenBucket(config.frames, openedMs),
    byteBucket: new TokenBucket(config.bytes, openedMs),
    strikes: new StrikeCounter(config.strikes, openedMs),
    pingNonce: null,
    overBufferSinceMs: null,
    holdsConnectionQuota: true,
    closing: false,
    joinPending: false,
    holdsClusterConnection: false,
  };
}
