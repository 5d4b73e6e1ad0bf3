// The hub's limits with every default filled in, once, so the rest of the hub reads one
// settled value (and the error messages quote the limit that is actually enforced).
import type { IncomingMessage } from 'node:http';
import * as limits from '../limits.ts';
import type { TokenBucketConfig, StrikeCounterConfig } from '../rate-limit.ts';
import type { SignalingOptions } from './api.ts';

export interface HubConfig {
  readonly heartbeatMs: number;
  /** A connection that has not joined by then is closed. */
  readonly joinDeadlineMs: number;
  readonly maxConnections: number;
  readonly maxNodesPerRoom: number;
  readonly maxRooms: number;
  /** Frames per second of one connection. */
  readonly frames: TokenBucketConfig;
  /** Bytes per second of one connection. */
  readonly bytes: TokenBucketConfig;
  /** One address's frames and bytes across its connections, in connections' worth. */
  readonly addressShare: number;
  readonly strikes: StrikeCounterConfig;
  /** Per client address: open connections, live rooms opened, seats in one room. */
  readonly caps: { readonly connections: number; readonly rooms: number; readonly seats: number };
  /** Private joins with a password nobody in a room of that name uses, per address. */
  readonly passwordMisses: TokenBucketConfig;
  readonly maxSendBufferBytes: number;
  readonly slowReaderCloseMs: number;
  readonly sendBufferCheckIntervalMs: number;
  readonly announceWindowMs: number;
  readonly originAllowed: (origin: string | undefined, req: IncomingMessage) => boolean;
}

export function resolveConfig(options: SignalingOptions): HubConfig {
  return {
    heartbeatMs: options.heartbeatIntervalMs ?? limits.heartbeatIntervalMs,
    joinDeadlineMs: options.joinDeadlineMs ?? limits.joinDeadlineMs,
    maxConnections: options.maxConnections ?? limits.maxConnections,
    maxNodesPerRoom: options.maxNodesPerRoom ?? limits.maxNodesPerRoom,
    maxRooms: options.maxRooms ?? limits.maxRooms,
    frames: { ratePerS: options.rateLimitPerS ?? limits.rateLimitPerS, burst: options.rateLimitBurst ?? limits.rateLimitBurst },
    bytes: { ratePerS: options.rateLimitBytesPerS ?? limits.rateLimitBytesPerS, burst: options.rateLimitBurstBytes ?? limits.rateLimitBurstBytes },
    addressShare: options.addressBudgetConnections ?? limits.addressBudgetConnections,
    strikes: { limit: options.maxFloodStrikes ?? limits.maxFloodStrikes, leakPerS: options.floodStrikeLeakPerS ?? limits.floodStrikeLeakPerS },
    caps: {
      connections: options.maxConnectionsPerAddress ?? limits.maxConnectionsPerAddress,
      rooms: options.maxRoomsPerAddress ?? limits.maxRoomsPerAddress,
      seats: options.maxSeatsPerAddressPerRoom ?? limits.maxSeatsPerAddressPerRoom,
    },
    passwordMisses: {
      ratePerS: (options.passwordMissesPerMinute ?? limits.passwordMissesPerMinute) / 60,
      burst: options.passwordMissBurst ?? limits.passwordMissBurst,
    },
    maxSendBufferBytes: options.maxSendBufferBytes ?? limits.maxSendBufferBytes,
    slowReaderCloseMs: options.slowReaderCloseMs ?? limits.slowReaderCloseMs,
    sendBufferCheckIntervalMs: options.sendBufferCheckIntervalMs ?? limits.sendBufferCheckIntervalMs,
    announceWindowMs: options.announceWindowMs ?? limits.announceWindowMs,
    originAllowed: originPolicy(options.allowedOrigins),
  };
}

function originPolicy(allowed: SignalingOptions['allowedOrigins']): (origin: string | undefined, req: IncomingMessage) => boolean {
  if (allowed === undefined) return () => true;
  if (typeof allowed === 'function') return allowed;
  const set = new Set(allowed);
  return (origin) => origin !== undefined && set.has(origin);
}
