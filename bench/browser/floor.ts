// The floor of the browser benchmark: one bare simple-peer data channel between two tabs, with
// none of Tabmesh's layers (no worker, no framing, no signing). The harness carries the signals
// between the two pages itself (Playwright), so not even our signaling server is involved.
// window.benchFloor is driven by bench/browser/floor-measure.ts.
import SimplePeer from '@thaunknown/simple-peer/lite.js';
import type { Instance } from 'simple-peer';

/** Stop queueing bulk data while the channel holds this much unsent: keeps memory bounded. */
const maxBufferedBytes = 4 * 1024 * 1024;
/** Bulk chunk size: well under every browser's data-channel message limit. */
const chunkBytes = 16 * 1024;
/** First byte of a frame: what it is. */
const kindPing = 1;
const kindPong = 2;
const kindBulk = 3;
const kindBulkDone = 4;

export interface FloorApi {
  /** Creates the peer; every signal it produces goes to window.benchFloorSignal (exposed by the harness). */
  start(initiator: boolean): void;
  signal(data: unknown): void;
  connected(): boolean;
  /** Sequential ping-pongs of 16 bytes: round-trip times in ms. */
  pingRounds(rounds: number): Promise<number[]>;
  /** Sends about `totalBytes` (whole chunks) and waits for the other side to confirm receipt: MB/s (10⁶ bytes). */
  bulk(totalBytes: number): Promise<number>;
}

declare global {
  interface Window {
    benchFloor: FloorApi;
    benchFloorSignal(data: unknown): Promise<void>;
  }
}

let peer: Instance | null = null;
let isConnected = false;
let received = 0;
const waiters = new Map<number, (frame: Uint8Array) => void>();

function need(): Instance {
  if (!peer || !isConnected) throw new Error('the floor peer is not connected');
  return peer;
}

function frame(kind: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  bytes[0] = kind;
  return bytes;
}

function next(kind: number): Promise<Uint8Array> {
  return new Promise((resolve) => waiters.set(kind, resolve));
}

function onData(data: Uint8Array): void {
  const kind = data[0];
  if (kind === kindPing) return void peer?.send(frame(kindPong, data.byteLength));
  if (kind === kindBulk) {
    received += data.byteLength;
    const target = new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(1);
    if (received >= target) {
      received = 0;
      peer?.send(frame(kindBulkDone, 16));
    }
    return;
  }
  const waiter = kind === undefined ? undefined : waiters.get(kind);
  if (waiter && kind !== undefined) {
    waiters.delete(kind);
    waiter(data);
  }
}

const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

window.benchFloor = {
  start(initiator) {
    peer = new SimplePeer({ initiator, trickle: true, config: { iceServers: [] }, channelConfig: { ordered: true } });
    peer.on('signal', (data: unknown) => void window.benchFloorSignal(data));
    peer.on('connect', () => (isConnected = true));
    peer.on('close', () => (isConnected = false));
    peer.on('data', onData);
  },
  signal(data) {
    peer?.signal(data as SimplePeer.SignalData);
  },
  connected: () => isConnected,
  async pingRounds(rounds) {
    const p = need();
    const out: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const pong = next(kindPong);
      const t0 = performance.now();
      p.send(frame(kindPing, 16));
      await pong;
      out.push(performance.now() - t0);
    }
    return out;
  },
  async bulk(requestedBytes) {
    const p = need() as Instance & { bufferSize: number };
    // Whole chunks only, so every chunk carries the total the receiver waits for.
    const total = Math.max(1, Math.ceil(requestedBytes / chunkBytes)) * chunkBytes;
    const done = next(kindBulkDone);
    const t0 = performance.now();
    for (let sent = 0; sent < total;) {
      if (p.bufferSize > maxBufferedBytes) {
        await yieldToEvents();
        continue;
      }
      const chunk = frame(kindBulk, chunkBytes);
      new DataView(chunk.buffer).setFloat64(1, total);
      p.send(chunk);
      sent += chunkBytes;
    }
    await done;
    return total / 1e6 / ((performance.now() - t0) / 1000);
  },
};
