// The dashboard: a node of this tab joined with the library API (joinRoom), window.tabmesh over
// its Room, and the Svelte UI over the same Room. Nothing here reaches the node another way.
import { mount } from 'svelte';
import { CapabilityError, joinRoom } from './api/index.ts';
import { nodeOfRoom } from './api/room.ts';
import { installFailedWindowApi, installWindowApi } from './window-api.ts';
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
  target.textContent = 'Starting this node…';
  // A private room's password, if this tab was given one (never from the URL: room-password.ts).
  const password = storedRoomPassword(room);
  const joined = await joinRoom({ room, ...(signalingUrls.length > 0 ? { signaling: signalingUrls } : {}), ...(password !== null ? { password } : {}) });
  installWindowApi(joined);
  target.textContent = '';
  // ?controller=<id>: this tab accepts that demo screen's fault clicks; ?view=demo: the demo view.
  installDemoControl(nodeOfRoom(joined), params);
  if (isDemoView(params)) mountDemoView(target, nodeOfRoom(joined));
  else mount(App, { target, props: { mesh: new MeshState(joined) } });
} catch (error) {
  console.error('tabmesh:', error);
  target.textContent = '';
  installFailedWindowApi(error instanceof Error ? error : new Error(String(error)));
  // A browser that lacks something gets the whole list and what to do, not one line.
  if (error instanceof CapabilityError) mount(CapabilityRefusal, { target, props: { error } });
  else {
    const alert = document.createElement('p');
    alert.className = 'error';
    alert.setAttribute('role', 'alert');
    alert.dataset['testid'] = 'worker-gave-up';
    alert.textContent = `Tabmesh could not start: ${error instanceof Error ? error.message : String(error)}`;
    target.append(alert);
  }
}
