// The dashboard: a mesh node in this tab, its window.tabmesh API, and the Svelte UI over it.
import { mount } from 'svelte';
import { CapabilityError, createMeshNode } from './mesh-node.ts';
import { installWindowApi } from './window-api.ts';
import { signalingUrlsFromQuery } from './net/signaling-urls.ts';
import { MeshState } from './ui/mesh.svelte.ts';
import App from './ui/App.svelte';
import CapabilityRefusal from './ui/components/CapabilityRefusal.svelte';
import { storedRoomPassword } from './ui/room-password.ts';
import { installDemoControl } from './ui/demo/control.ts';
import { isDemoView, mountDemoView } from './ui/demo/mount.ts';
import './ui/app.css';

const params = new URLSearchParams(location.search);
const room = params.get('room') || 'lobby';
// ?signal= may be repeated or comma-separated: servers of one cluster, tried in turn.
const signalingUrls = signalingUrlsFromQuery(params);
const target = document.getElementById('app') as HTMLElement;

try {
  // A private room's password, if this tab was given one (never from the URL: room-password.ts).
  const password = storedRoomPassword(room);
  const node = await createMeshNode({ room, ...(signalingUrls.length > 0 ? { signalingUrl: signalingUrls } : {}), ...(password !== null ? { password } : {}) });
  installWindowApi(node);
  // ?controller=<id>: this tab accepts that demo screen's fault clicks; ?view=demo: the demo view.
  installDemoControl(node, params);
  if (isDemoView(params)) mountDemoView(target, node);
  else mount(App, { target, props: { mesh: new MeshState(node) } });
} catch (error) {
  console.error('tabmesh:', error);
  // A browser that lacks something gets the whole list and what to do, not one line.
  if (error instanceof CapabilityError) mount(CapabilityRefusal, { target, props: { error } });
  else target.textContent = `Tabmesh could not start: ${error instanceof Error ? error.message : String(error)}`;
}
