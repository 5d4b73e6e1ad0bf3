// `tabmesh` — the library's browser entry point. Join a room in a few lines:
//
//   import { joinRoom } from 'tabmesh';
//   const room = await joinRoom({ room: 'demo' });
//   room.on('peer-join', (peer) => console.log('hello', peer));
//   await room.memory.set('greeting', 'hi');
//   await room.leave();
//
// Each joinRoom starts a node of its own in this page: a protocol worker, its WebRTC links and a
// slot of this browser's IndexedDB (its identity). A page may join several rooms, or one room
// several times.
import { createMeshNode, type MeshNode } from '../mesh-node.ts';
import { checkJoinRoomOptions, type JoinRoomOptions } from './options.ts';
import { CapabilityError, TabmeshError, throwIfAborted } from './errors.ts';
import { roomWhenReady } from './join.ts';
import type { Room } from './room.ts';

export type { Room, RoomEvents, RoomEventName, PeerId } from './room.ts';
export type { RoomMemory, MemoryEntry, MemoryChangeEvent } from './memory.ts';
export type { JoinRoomOptions } from './options.ts';
export type { Unsubscribe } from './events.ts';
export type { RoomAdmin, JobRequest, MeshSettings, ByzantineMode, Priority, StatusRecord, TilesPage } from './admin.ts';
export type { TabmeshDebugApi } from '../debug-api.ts';
export type { NodeBackend } from './backend.ts';
export {
  ComputeError,
  createCompute,
  maxTaskInputBytes,
  maxTaskOutputBytes,
  maxTasksPerJob,
  type Compute,
  type ComputeErrorCode,
  type ComputeJob,
  type ComputeJobStatus,
  type ComputeProgress,
  type JobInput,
  type Kernel,
  type KernelContext,
  type KernelOptions,
  type KernelStats,
  type RegisteredKernel,
  type SubmitOptions,
} from './compute.ts';
export {
  ChannelError,
  createChannel,
  type Channel,
  type ChannelData,
  type ChannelErrorCode,
  type ChannelOptions,
  type ChannelSendOptions,
  type ChannelStats,
  type JsonValue,
  type StandardSchemaV1,
} from './channel.ts';
export type { NodeSnapshot } from '../mesh-node.ts';
export {
  ConsensusError,
  type Consensus,
  type ConsensusErrorCode,
  type ConsensusEvents,
  type ConsensusStats,
  type ProposeOptions,
  type StateMachine,
} from './consensus.ts';
export {
  TabmeshError,
  InvalidArgumentError,
  RoomClosedError,
  AbortError,
  NodeRefusedError,
  NodeUnavailableError,
  CapabilityError,
  capabilityCodes,
  type CapabilityCode,
  type MissingCapability,
} from './errors.ts';
export { requireCapabilities, supportedBrowsers } from '../mesh-node.ts';

/**
 * Joins `options.room` with a new node in this page and resolves with the Room once the node
 * has its identity (`room.id`); it keeps connecting to peers after that (watch peer-join).
 *
 * Rejects with an InvalidArgumentError naming a bad option, a CapabilityError when this browser
 * lacks something Tabmesh needs (its `missing` says what to do), an AbortError when
 * `options.signal` aborts first, or a TabmeshError (code 'no-slot') when this browser already
 * runs the most nodes it can (64).
 */
export async function joinRoom(options: JoinRoomOptions): Promise<Room> {
  const checked = checkJoinRoomOptions(options);
  throwIfAborted(checked.signal);
  let node: MeshNode;
  try {
    node = await createMeshNode({
      room: checked.room,
      ...(checked.signaling !== undefined ? { signalingUrl: checked.signaling } : {}),
      ...(checked.iceServers !== undefined ? { iceServers: checked.iceServers } : {}),
      ...(checked.iceTransportPolicy !== undefined ? { iceTransportPolicy: checked.iceTransportPolicy } : {}),
      ...(checked.password !== undefined ? { password: checked.password } : {}),
    });
  } catch (error) {
    if (error instanceof CapabilityError || error instanceof TabmeshError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new TabmeshError(/node slots/.test(message) ? 'no-slot' : 'start-failed', message, { cause: error });
  }
  return roomWhenReady(
    node,
    checked.room,
    checked.signal,
    () => node.error,
    (listener) => node.onFailure(listener),
  );
}
