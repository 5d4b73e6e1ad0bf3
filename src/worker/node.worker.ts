// Entry of a tab's protocol worker: decodes what the page posts, runs the node runtime,
// and posts snapshots, link commands and command replies back.
import type { NodeId } from '../core/types.ts';
import { IdbStorage, slotDatabaseName } from '../store/idb.ts';
import { decodePageToWorker, type PageToWorker, type WorkerToPage } from './protocol.ts';
import { NodeRuntime } from './runtime.ts';
import { errorCode } from './command-error.ts';
import { runCommand } from './commands.ts';
import { createDefaultServices } from './default-services.ts';
import type { LinkHost } from '../net/transport.ts';
import type { SocketLike } from '../net/signaling-client.ts';
import { workerCapabilityRefusal } from './capability-check.ts';
import { realClock, realTimers } from './real-clock.ts';

// Workers have no DOM typings in this project's lib set; this is the slice of the worker
// global scope we use.
const scope = self as unknown as {
  postMessage(message: WorkerToPage, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
};

const post = (message: WorkerToPage, transfer?: Transferable[]) => scope.postMessage(message, transfer ?? []);

/** Link commands go to the page, which hosts the RTCPeerConnections. */
const pageLinkHost: LinkHost = {
  open: (peer, linkId, initiator, iceServers) => post({ type: 'open-link', peer, linkId, initiator, iceServers }),
  signal: (peer, linkId, signal) => post({ type: 'signal-link', peer, linkId, signal }),
  send: (peer, linkId, bytes) => {
    const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
    post({ type: 'send', peer, linkId, bytes: buffer }, [buffer]);
  },
  close: (peer, linkId) => post({ type: 'close-link', peer, linkId }),
  setLastWords: (frames) => post({ type: 'last-words', frames: frames.map((f) => f.slice().buffer) }),
};

let runtime: NodeRuntime | null = null;
let starting = false;
/** Page messages that arrived while the runtime was starting (link events cannot wait). */
const earlyMessages: PageToWorker[] = [];
let refusedFromPage = 0;

async function handle(message: PageToWorker): Promise<void> {
  if (message.type === 'init') {
    if (starting || runtime) return;
    starting = true;
    const refusal = await workerCapabilityRefusal(self as unknown as Parameters<typeof workerCapabilityRefusal>[0]);
    if (refusal) {
      post({ type: 'fatal', message: `the node cannot start: ${refusal.message}`, code: refusal.code });
      return;
    }
    try {
      runtime = await NodeRuntime.start({
        room: message.room,
        slot: message.slot,
        signalingUrl: message.signalingUrl,
        storage: new IdbStorage(slotDatabaseName(message.slot)),
        // The browser's WebSocket has the SocketLike shape; only its event types are narrower.
        createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
        linkHost: pageLinkHost,
        clock: realClock,
        timers: realTimers,
        iceServers: message.iceServers,
        ...(message.password !== undefined ? { password: message.password } : {}),
        services: createDefaultServices(),
        publishSnapshot: (snapshot) => post({ type: 'snapshot', snapshot: { ...snapshot, rejectedFromPage: refusedFromPage } }),
        publishMemory: (memory) => post(memory),
        publishEvent: (name, payload, transfer) => post({ type: 'event', name, payload }, transfer),
      });
    } catch (error) {
      post({ type: 'fatal', message: `the node could not start: ${String(error)}` });
      return;
    }
    for (const early of earlyMessages.splice(0)) await handle(early);
    return;
  }
  if (!runtime) {
    earlyMessages.push(message);
    return;
  }
  switch (message.type) {
    case 'link-up':
      runtime.up(message.peer as NodeId, message.linkId);
      return;
    case 'link-down':
      runtime.down(message.peer as NodeId, message.linkId, message.reason);
      return;
    case 'link-signal':
      runtime.signal(message.peer as NodeId, message.linkId, message.signal);
      return;
    case 'link-data':
      runtime.data(message.peer as NodeId, message.linkId, new Uint8Array(message.bytes));
      return;
    case 'command': {
      try {
        const value = await runCommand(runtime, message.name, message.args);
        post({ type: 'reply', id: message.id, ok: true, value });
      } catch (error) {
        const code = errorCode(error);
        post({ type: 'reply', id: message.id, ok: false, error: error instanceof Error ? error.message : String(error), ...(code ? { code } : {}) });
      }
      return;
    }
    case 'shutdown':
      runtime.shutdown('tab closed');
      return;
  }
}

scope.addEventListener('message', (event) => {
  const decoded = decodePageToWorker(event.data);
  if (!decoded.ok) {
    refusedFromPage++;
    console.warn(`tabmesh worker: refused a message from the page (${decoded.error})`);
    return;
  }
  void handle(decoded.value);
});
