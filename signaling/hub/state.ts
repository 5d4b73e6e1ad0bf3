// What the parts of the hub share: its settled config, its clock and log, the connections and
// rooms it holds, the per-address budgets and quotas, its counters, and the announcer.
// attachSignaling (hub.ts) makes one; every handler takes it as its first argument.
import { randomBytes } from 'node:crypto';
import { createRng } from '../../src/core/rng.ts';
import { errorCodes, maxIdsPerPeersFrame, maxPeersInJoinSample, type ErrorCode, type ServerMessage } from '../protocol.ts';
import * as limits from '../limits.ts';
import { RoomRegistry, type RoomKey } from '../rooms.ts';
import { KeyedBuckets } from '../rate-limit.ts';
import { MemoryQuotaStore, type AddressQuotaStore } from '../address-limits.ts';
import { Announcer } from '../announcements.ts';
import type { ClusterBus } from '../cluster/bus.ts';
import type { SignalingOptions, SignalingStats } from './api.ts';
import { resolveConfig, type HubConfig } from './config.ts';
import type { Conn } from './conn.ts';
import { createGuard, type Guard } from './guard.ts';
import { sendText } from './outbox.ts';

/** Client addresses remembered for the wrong-password throttle (oldest forgotten first). */
const maxThrottledAddresses = 10_000;

/** The counters of SignalingStats, kept as they happen. */
export type HubCounters = Omit<SignalingStats, 'rooms' | 'privateRooms' | 'connections' | 'nodes' | 'uptimeS' | 'clientAddresses' | 'cluster'>;

export interface Hub {
  readonly options: SignalingOptions;
  readonly config: HubConfig;
  /** Milliseconds on a monotonic clock; for rate limits and deadlines. */
  readonly now: () => number;
  readonly log: (line: string) => void;
  readonly guard: Guard;
  readonly counters: HubCounters;
  readonly conns: Set<Conn>;
  readonly rooms: RoomRegistry<Conn>;
  readonly quotas: AddressQuotaStore;
  /** Who opened each live room: its room quota goes back to that address when it empties. */
  readonly roomOpeners: Map<RoomKey, string>;
  readonly passwordMisses: KeyedBuckets;
  /** One address's frames and bytes across all its connections. */
  readonly addressFrames: KeyedBuckets;
  readonly addressBytes: KeyedBuckets;
  readonly announcer: Announcer;
  readonly cluster: ClusterBus | undefined;
  /** close() has begun: upgrades are no longer taken. */
  closed: boolean;
}

export function createHub(options: SignalingOptions): Hub {
  const now = options.now ?? (() => performance.now());
  const log = options.log ?? (() => {});
  const config = resolveConfig(options);
  const counters = newCounters();
  const share = config.addressShare;
  const rooms = new RoomRegistry<Conn>(createRng(options.seed ?? randomBytes(4).readUInt32LE(0)), {
    maxNodesPerRoom: config.maxNodesPerRoom,
    maxRooms: config.maxRooms,
    maxPeersInJoinSample,
  });
  const hub: Hub = {
    options,
    config,
    now,
    log,
    guard: createGuard(counters, now, log),
    counters,
    conns: new Set<Conn>(),
    rooms,
    quotas: options.quotaStore ?? new MemoryQuotaStore(),
    roomOpeners: new Map<RoomKey, string>(),
    passwordMisses: new KeyedBuckets(config.passwordMisses, maxThrottledAddresses),
    addressFrames: new KeyedBuckets({ ratePerS: config.frames.ratePerS * share, burst: config.frames.burst * share }, limits.maxConnections),
    addressBytes: new KeyedBuckets({ ratePerS: config.bytes.ratePerS * share, burst: config.bytes.burst * share }, limits.maxConnections),
    announcer: new Announcer({
      windowMs: config.announceWindowMs,
      maxIds: maxIdsPerPeersFrame,
      schedule: (fn, ms) => {
        const timer = setTimeout(hub.guard('announcement', fn), ms);
        return { cancel: () => clearTimeout(timer) };
      },
      deliver: (room, batch) => {
        // Serialised once for the whole room; the receiver skips its own id.
        const text = JSON.stringify({ type: 'peers', joined: batch.joined, left: batch.left } satisfies ServerMessage);
        for (const member of rooms.members(room)) {
          if (sendText(hub, member, text)) counters.announcementFrames++;
        }
      },
    }),
    cluster: options.cluster,
    closed: false,
  };
  return hub;
}

function newCounters(): HubCounters {
  return {
    refusals: Object.fromEntries(errorCodes.map((code) => [code, 0])) as Record<ErrorCode, number>,
    relayedSignals: 0,
    closedForFlooding: 0,
    deadSocketsDropped: 0,
    closedForNoJoin: 0,
    framesDroppedSlowReader: 0,
    closedSlowReader: 0,
    unsolicitedPongs: 0,
    announcementFrames: 0,
    notices: 0,
    refusedHosts: 0,
    internalErrors: 0,
  };
}

/** The stats as SignalingStats reports them: counts read now, counters copied. */
export function statsOf(hub: Hub, startedMs: number): SignalingStats {
  return {
    ...hub.rooms.counts(),
    privateRooms: hub.rooms.privateRoomCount(),
    connections: hub.conns.size,
    clientAddresses: hub.quotas.addresses(),
    uptimeS: Math.floor((hub.now() - startedMs) / 1000),
    ...hub.counters,
    refusals: { ...hub.counters.refusals },
    ...(hub.cluster ? { cluster: hub.cluster.stats() } : {}),
  };
}
