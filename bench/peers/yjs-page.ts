// The y-webrtc side of `npm run bench:peers`: one Y.Doc shared through y-webrtc (Yjs's WebRTC
// provider), a Y.Map as the replicated memory. Built with esbuild into a temporary directory by
// yjs-build.ts; the harness drives it through window.ybench, as it drives Tabmesh through
// window.tabmesh. Each tab runs in a browser context of its own, so y-webrtc cannot take its
// BroadcastChannel shortcut and really uses WebRTC.
import * as Y from 'yjs';
import { WebrtcProvider } from 'y-webrtc';

const params = new URLSearchParams(location.search);
const room = params.get('room') ?? 'bench';
const signaling = params.get('signaling') ?? '';
const doc = new Y.Doc();
const map = doc.getMap<unknown>('memory');
const provider = new WebrtcProvider(room, doc, { signaling: [signaling], filterBcConns: true });

/** What the harness calls (the same shape of questions as it asks window.tabmesh). */
const ybench = {
  /** Direct WebRTC connections that are up. */
  peers(): number {
    let up = 0;
    const conns = (provider as unknown as { room: { webrtcConns: Map<string, { connected: boolean }> } | null }).room?.webrtcConns;
    for (const conn of conns?.values() ?? []) if (conn.connected) up++;
    return up;
  },
  set(key: string, value: unknown): void {
    map.set(key, value);
  },
  get(key: string): unknown {
    return map.get(key);
  },
  size(): number {
    return map.size;
  },
};
(window as unknown as { ybench: typeof ybench }).ybench = ybench;
