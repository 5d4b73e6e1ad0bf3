// A bare page for the channel tests and benchmark: a mesh node (no dashboard), window.tabmesh for
// the harness's snapshot helpers, and window.channels: createChannel on this page's node.
import { createMeshNode } from '../../../src/mesh-node.ts';
import { installWindowApi } from '../../../src/window-api.ts';
import { createChannel, type Channel, type ChannelData, type ChannelOptions } from '../../../src/api/channel.ts';

const room = new URLSearchParams(location.search).get('room') ?? 'channels';
const node = await createMeshNode({ room });
installWindowApi(node);

/** What the tests drive in the page. */
export interface ChannelsTestApi {
  open(name: string, options?: ChannelOptions<ChannelData>): Channel<ChannelData>;
}

declare global {
  interface Window {
    channels: ChannelsTestApi;
  }
}

window.channels = { open: (name, options) => createChannel(node, name, options) };
