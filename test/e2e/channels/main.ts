// A bare page for the channel tests and benchmark: a mesh node (no dashboard), window.tabmesh for
// the harness's snapshot helpers, and window.channels: room.channel() of the Room over this
// page's node (the Room joinRoom gives, built on the same node so the tests can steer its links).
import { createMeshNode } from '../../../src/mesh-node.ts';
import { installWindowApi } from '../../../src/window-api.ts';
import { roomWhenReady } from '../../../src/api/join.ts';
import type { Channel, ChannelData, ChannelOptions } from '../../../src/api/channel.ts';

const roomName = new URLSearchParams(location.search).get('room') ?? 'channels';
const node = await createMeshNode({ room: roomName });
const room = await roomWhenReady(node, roomName, undefined, () => node.error);
installWindowApi(room);

/** What the tests drive in the page. */
export interface ChannelsTestApi {
  open(name: string, options?: ChannelOptions<ChannelData>): Channel<ChannelData>;
}

declare global {
  interface Window {
    channels: ChannelsTestApi;
  }
}

window.channels = { open: (name, options) => room.channel(name, options) };
