// Sorts the frames of a simulated run by what they are for, so the bench can say which protocol
// a node's traffic goes to. A frame is `{"p":…,"m":{"type":…}}` (src/core/envelope.ts); only its
// first bytes are read, not the whole JSON, so counting costs little next to the run itself.

/** Bytes enough to hold `{"p":"overlay","m":{"type":"` and a message type. */
const headBytes = 64;
const head = /^\{"p":"([a-z]+)","m":\{"type":"([A-Za-z0-9_-]+)"/;

export interface Tally {
  frames: number;
  bytes: number;
}

/** Link-layer frames that only keep a link alive and measure its round trip. */
const keepaliveTypes = new Set(['ping', 'pong']);

export class FrameKinds {
  /** By protocol; the link protocol's pings and pongs count as 'keepalive'. */
  readonly byProtocol = new Map<string, Tally>();
  /** By protocol and message type ('overlay/advert'), for a closer look. */
  readonly byType = new Map<string, Tally>();

  count(bytes: Uint8Array): void {
    const match = head.exec(Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(headBytes, bytes.byteLength)).toString('latin1'));
    const protocol = match?.[1] ?? 'unknown';
    const type = match?.[2] ?? 'unknown';
    add(this.byProtocol, protocol === 'link' && keepaliveTypes.has(type) ? 'keepalive' : protocol, bytes.byteLength);
    add(this.byType, `${protocol}/${type}`, bytes.byteLength);
  }
}

function add(into: Map<string, Tally>, key: string, bytes: number): void {
  const tally = into.get(key);
  if (tally) {
    tally.frames++;
    tally.bytes += bytes;
  } else into.set(key, { frames: 1, bytes });
}
