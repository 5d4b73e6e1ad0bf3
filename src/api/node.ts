// `tabmesh/node` — the same joinRoom and Room in Node: the node runs in this process (the tab's
// runtime and services, node-datachannel for WebRTC, `ws` for signaling), as `tabmesh-node`
// does, and joins rooms with browser tabs and other Node peers.
//
//   import { joinRoom } from 'tabmesh/node';
//   const room = await joinRoom({ room: 'demo', signaling: 'http://192.168.1.20:8080' });
//   room.on('peer-join', (peer) => console.log('hello', peer));
import * as v from 'valibot';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { roomSchema } from '../../signaling/protocol.ts';
import { iceServersSchema, iceTransportPolicySchema, type IceServerConfig, type IceTransportPolicy } from '../../signaling/ice-config.ts';
import { signalEndpoints, type NodeRunOptions } from '../node/cli.ts';
import type { LogEvent } from '../node/log-events.ts';
import { abortSignal, checkOptions, passwordSchema, signalingList, strictOptions } from './options.ts';
import { TabmeshError, throwIfAborted } from './errors.ts';
import { roomWhenReady } from './join.ts';
import { NodePeerBackend } from './node-backend.ts';
import type { Room } from './room.ts';

export type { Room, RoomEvents, RoomEventName, PeerId } from './room.ts';
export type { RoomMemory, MemoryEntry, MemoryChangeEvent } from './memory.ts';
export type { Unsubscribe } from './events.ts';
export type { RoomAdmin, JobRequest, MeshSettings, ByzantineMode, Priority, StatusRecord, TilesPage } from './admin.ts';
export type { TabmeshDebugApi } from '../debug-api.ts';
export type { NodeBackend } from './backend.ts';
export type { NodeSnapshot } from '../mesh-node.ts';
export type { LogEvent } from '../node/log-events.ts';
export { TabmeshError, InvalidArgumentError, RoomClosedError, AbortError, NodeRefusedError, NodeUnavailableError } from './errors.ts';

/** What joinRoom takes in Node. */
export interface NodeJoinRoomOptions {
  /** The room to join: 1–64 letters, digits, dots, dashes or underscores. */
  room: string;
  /**
   * The signaling server, or several servers of one cluster (failover in order): the address
   * people open in a browser (http://host:port — its /signal is used, and its /config.json for
   * ICE servers), or a ws:// / wss:// URL used as it is. Required: Node has no page origin.
   */
  signaling: string | string[];
  /** STUN/TURN servers. Default: what the (first) server's /config.json says, else none. */
  iceServers?: IceServerConfig;
  /** 'relay': every link goes through a TURN relay; no address of this machine reaches peers. Default: the server's /config.json, else 'all'. */
  iceTransportPolicy?: IceTransportPolicy;
  /** A private room's password (at least 8 characters); never sent anywhere. */
  password?: string;
  /**
   * Where the node keeps its identity and memory, so it has the same id next time (one node per
   * directory at a time). Default: a fresh temporary directory, removed on leave — a new
   * identity every run.
   */
  dataDir?: string;
  /** Called with each of the node's log events (what `tabmesh-node` prints). Default: none. */
  onLog?: (event: LogEvent) => void;
  /** Aborts the join: joinRoom then rejects with an AbortError and the node leaves. */
  signal?: AbortSignal;
}

const nodeSignalingUrl = v.pipe(
  v.string('a signaling address is a string'),
  v.check(
    (text) => signalEndpoints(text).ok,
    (issue) => {
      const checked = signalEndpoints(issue.input as string);
      return checked.ok ? 'not a usable address' : checked.error;
    },
  ),
);

const nodeJoinRoomSchema = strictOptions({
  room: roomSchema,
  signaling: signalingList(
    nodeSignalingUrl,
    'give at least one signaling address',
    'is required in Node: the address of the signaling server (e.g. http://127.0.0.1:8080), or a list of them',
  ),
  iceServers: v.optional(iceServersSchema),
  iceTransportPolicy: v.optional(iceTransportPolicySchema),
  password: v.optional(passwordSchema),
  dataDir: v.optional(v.pipe(v.string('a directory path is a string'), v.minLength(1, 'give a directory path, or leave the option out for a temporary one'))),
  onLog: v.optional(v.custom<(event: LogEvent) => void>((value) => typeof value === 'function', 'must be a function')),
  signal: v.optional(abortSignal),
});

/**
 * Joins `options.room` with a new node in this process and resolves with the Room once the node
 * has its identity. Rejects with an InvalidArgumentError naming a bad option, an AbortError when
 * `options.signal` aborts first, or a TabmeshError (code 'start-failed', e.g. the data directory
 * is in use by another node) when the node cannot start.
 */
export async function joinRoom(options: NodeJoinRoomOptions): Promise<Room> {
  const checked = checkOptions(nodeJoinRoomSchema, options) as NodeJoinRoomOptions;
  throwIfAborted(checked.signal);
  const endpoints = (typeof checked.signaling === 'string' ? [checked.signaling] : checked.signaling).map((text) => {
    const e = signalEndpoints(text);
    if (!e.ok) throw new TabmeshError('invalid-argument', e.error);
    return e.value;
  });
  const temporary = checked.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'tabmesh-node-')) : null;
  const runOptions: NodeRunOptions = {
    room: checked.room,
    signal: endpoints[0]!,
    signals: endpoints,
    signalGiven: endpoints.map((e) => e.signalingUrl).join(','),
    dataDir: checked.dataDir ?? temporary!,
    json: false,
    iceServers: checked.iceServers ?? null,
    iceTransportPolicy: checked.iceTransportPolicy ?? null,
    password: checked.password !== undefined ? { from: 'env', value: checked.password } : null,
  };
  let backend: NodePeerBackend;
  try {
    backend = await NodePeerBackend.start(runOptions, checked.onLog ?? (() => {}));
  } catch (error) {
    if (temporary) await rm(temporary, { recursive: true, force: true });
    throw new TabmeshError('start-failed', `the node could not start: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  // A temporary directory goes with the node.
  if (temporary) backend.afterClose(() => rm(temporary, { recursive: true, force: true }));
  return roomWhenReady(backend, checked.room, checked.signal, () => null);
}
