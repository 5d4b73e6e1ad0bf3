// Sorts the frames of a simulated run by what they are for, so the bench can say which protocol
// a node's traffic goes to. A frame is `{"p":…,"m":{"type":…}}` (src/core/envelope.ts); only its
// first bytes are read, not the whole JSON, so counting costs little next to the run itself.

/** `{"p":"` and `","m":{"type":"`: where the protocol tag and the message type start. */
const protocolAt = 6;
const typeGap = Buffer.from('","m":{"type":"', 'latin1');
/** Longest tag or type read; a longer one is 'unknown'. */
const maxName = 32;
const quote = 0x22;

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
    const protocol = nameAt(bytes, protocolAt);
    const gapAt = protocolAt + protocol.length;
    const type = protocol !== 'unknown' && gapFollows(bytes, gapAt) ? nameAt(bytes, gapAt + typeGap.length) : 'unknown';
    add(this.byProtocol, protocol === 'link' && keepaliveTypes.has(type) ? 'keepalive' : protocol, bytes.byteLength);
    add(this.byType, `${protocol}/${type}`, bytes.byteLength);
  }
}

/** Whether the message's type comes next (its first key), as encodeFrame writes it. */
function gapFollows(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < typeGap.length; i++) if (bytes[at + i] !== typeGap[i]) return false;
  return true;
}

/** The ASCII name from `at` to the next quote, read byte by byte (no decoding of the frame). */
function nameAt(bytes: Uint8Array, at: number): string {
  let name = '';
  for (let i = at; i < bytes.byteLength && i < at + maxName; i++) {
    const byte = bytes[i] as number;
    if (byte === quote) return name;
    name += String.fromCharCode(byte);
  }
  return 'unknown';
}

function add(into: Map<string, Tally>, key: string, bytes: number): void {
  const tally = into.get(key);
  if (tally) {
    tally.frames++;
    tally.bytes += bytes;
  } else into.set(key, { frames: 1, bytes });
}
