// In the page of the link benchmark: two connections of one tab to each other over loopback,
// made either with @thaunknown/simple-peer (what src/net/peer-host.ts uses) or with the native
// RTCPeerConnection API directly. Each round: setup time (new → both channels open) and the
// throughput of `bytes` in 16 KiB messages with backpressure (bufferedAmountLowThreshold).
import SimplePeer from '@thaunknown/simple-peer/lite.js';

const chunkBytes = 16 * 1024;
const highWaterBytes = 1024 * 1024;

interface Pair {
  /** Sends on side A; resolves when the channel's buffer has room again. */
  send(data: Uint8Array): void;
  channel: RTCDataChannel;
  onReceive(listener: (bytes: number) => void): void;
  close(): void;
}

function simplePeerPair(): Promise<Pair> {
  return new Promise((resolve) => {
    const a = new SimplePeer({ initiator: true, trickle: true, channelConfig: { ordered: true } });
    const b = new SimplePeer({ initiator: false, trickle: true, channelConfig: { ordered: true } });
    a.on('signal', (s: unknown) => b.signal(s as never));
    b.on('signal', (s: unknown) => a.signal(s as never));
    let open = 0;
    const opened = () => {
      if (++open < 2) return;
      const channel = (a as unknown as { _channel: RTCDataChannel })._channel;
      resolve({ send: (d) => a.send(d), channel, onReceive: (l) => b.on('data', (d: Uint8Array) => l(d.byteLength)), close: () => (a.destroy(), b.destroy()) });
    };
    a.on('connect', opened);
    b.on('connect', opened);
  });
}

async function nativePair(): Promise<Pair> {
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  a.onicecandidate = (e) => void (e.candidate && b.addIceCandidate(e.candidate));
  b.onicecandidate = (e) => void (e.candidate && a.addIceCandidate(e.candidate));
  const channel = a.createDataChannel('tabmesh', { ordered: true });
  channel.binaryType = 'arraybuffer';
  const remote = new Promise<RTCDataChannel>((resolve) => (b.ondatachannel = (e) => resolve(e.channel)));
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription!);
  const other = await remote;
  other.binaryType = 'arraybuffer';
  await Promise.all([channel, other].map((c) => (c.readyState === 'open' ? null : new Promise((r) => c.addEventListener('open', r, { once: true })))));
  return {
    send: (d) => channel.send(d as Uint8Array<ArrayBuffer>),
    channel,
    onReceive: (l) => other.addEventListener('message', (e) => l((e.data as ArrayBuffer).byteLength)),
    close: () => (a.close(), b.close()),
  };
}

async function round(kind: 'simple-peer' | 'native', bytes: number): Promise<{ setupMs: number; mibPerS: number }> {
  const start = performance.now();
  const pair = await (kind === 'native' ? nativePair() : simplePeerPair());
  const setupMs = performance.now() - start;
  const chunk = new Uint8Array(chunkBytes);
  let received = 0;
  const done = new Promise<void>((resolve) => pair.onReceive((n) => (received += n) >= bytes && resolve()));
  pair.channel.bufferedAmountLowThreshold = highWaterBytes / 2;
  const sendStart = performance.now();
  for (let sent = 0; sent < bytes; sent += chunkBytes) {
    if (pair.channel.bufferedAmount > highWaterBytes) await new Promise((r) => pair.channel.addEventListener('bufferedamountlow', r, { once: true }));
    pair.send(chunk);
  }
  await done;
  const mibPerS = bytes / 1024 / 1024 / ((performance.now() - sendStart) / 1000);
  pair.close();
  return { setupMs, mibPerS };
}

(window as unknown as { linkRound: typeof round }).linkRound = round;
