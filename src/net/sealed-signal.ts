// Signals of a private room, sealed with the room's key (room-key.ts) before anyone relays them:
// the signaling server, or mesh nodes forwarding them while the server is down, carry only
// ciphertext. The signed signal inside (signed-signal.ts) still proves who made it; the seal
// adds that only holders of the password can read one or make one that opens.
//
// AES-256-GCM, a fresh random 96-bit nonce per signal (a few thousand signals per key and
// node start, far below the 2^32 bound for random nonces), and the room, sender and recipient
// as additional data, so a sealed signal replayed to another node, from another sender or into
// another room does not open.
import * as v from 'valibot';
import type { NodeId } from '../core/types.ts';
import { fromBase64Url, toBase64Url, utf8Bytes } from '../crypto/base64url.ts';
import type { RoomKey } from './room-key.ts';

/** AES-GCM nonce length: the 96 bits GCM is defined for. */
const nonceBytes = 12;
/** Largest signal sealed, as JSON text (a signed SDP is under 17 KiB: maxSignalBytes + envelope). */
export const maxSealedPlainChars = 24 * 1024;
/** Largest ciphertext accepted, in base64url characters (maxSealedPlainChars + tag, × 4/3). */
export const maxSealedCipherChars = 32 * 1024 + 64;
/** Signals waiting for a seal or an open, each way; beyond, new ones are dropped and counted. */
export const maxPendingSignals = 256;

const sealedSchema = v.strictObject({
  /** Version of the seal; anything else is refused. */
  sealed: v.literal(1),
  n: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{16}$/, 'n: a 12-byte nonce in base64url')),
  c: v.pipe(
    v.string(),
    v.regex(/^[A-Za-z0-9_-]+$/, 'c: base64url ciphertext'),
    v.maxLength(maxSealedCipherChars, `c: at most ${maxSealedCipherChars} characters`),
  ),
});
export type SealedSignal = v.InferOutput<typeof sealedSchema>;

export type Opened = { ok: true; signal: unknown } | { ok: false; reason: string };

/** True when `raw` looks like a sealed signal (whether or not it opens). */
export function looksSealed(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'sealed' in raw;
}

function additionalData(room: string, from: string, to: string): Uint8Array<ArrayBuffer> {
  return utf8Bytes(`tabmesh-sealed-signal/1\n${room}\n${from}\n${to}`);
}

export async function sealSignal(key: RoomKey, from: NodeId, to: NodeId, signal: unknown): Promise<SealedSignal> {
  const text = JSON.stringify(signal);
  if (text.length > maxSealedPlainChars) throw new Error(`signal of ${text.length} characters is over the ${maxSealedPlainChars} limit`);
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(nonceBytes));
  const cipher = await globalThis.crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: additionalData(key.room, from, to) },
    key.sealKey,
    utf8Bytes(text),
  );
  return { sealed: 1, n: toBase64Url(nonce), c: toBase64Url(new Uint8Array(cipher)) };
}

/**
 * Opens a sealed signal that `from` (as stamped by the server, or the authenticated origin of a
 * routed message) sent to `to`. Refuses, with a reason, anything that is not sealed, is
 * malformed, or does not open under this room's key (another password, tampered bytes, another
 * sender, recipient or room).
 */
export async function openSignal(key: RoomKey, from: NodeId, to: NodeId, raw: unknown): Promise<Opened> {
  if (!looksSealed(raw)) return { ok: false, reason: 'unsealed signal in a private room (the sender has no password)' };
  const parsed = v.safeParse(sealedSchema, raw);
  if (!parsed.success) return { ok: false, reason: `malformed sealed signal: ${parsed.issues[0].message}` };
  const nonce = fromBase64Url(parsed.output.n);
  const cipher = fromBase64Url(parsed.output.c);
  if (!nonce || nonce.length !== nonceBytes || !cipher) return { ok: false, reason: 'malformed sealed signal: bad base64url' };
  let plain: ArrayBuffer;
  try {
    plain = await globalThis.crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: new Uint8Array(nonce), additionalData: additionalData(key.room, from, to) },
      key.sealKey,
      new Uint8Array(cipher),
    );
  } catch {
    return { ok: false, reason: 'sealed signal that does not open (another password, or altered on the way)' };
  }
  try {
    return { ok: true, signal: JSON.parse(new TextDecoder().decode(plain)) as unknown };
  } catch {
    return { ok: false, reason: 'sealed signal that opens to something other than JSON' };
  }
}

/**
 * Seals outgoing and opens incoming signals of one node, in the order they came: an ICE
 * candidate must not overtake the offer it belongs to, and WebCrypto promises do not promise
 * an order. Each direction is one chain of at most maxPendingSignals waiting signals.
 */
export class SignalSealer {
  private outChain: Promise<void> = Promise.resolve();
  private inChain: Promise<void> = Promise.resolve();
  private pendingOut = 0;
  private pendingIn = 0;

  constructor(
    private readonly key: RoomKey,
    private readonly self: NodeId,
    private readonly reject: (reason: string) => void,
  ) {}

  /** Seals `signal` for `to` and hands it to `send` once sealed (in order); false if dropped. */
  outgoing(to: NodeId, signal: unknown, send: (sealed: SealedSignal) => void): boolean {
    if (this.pendingOut >= maxPendingSignals) {
      this.reject(`outgoing signal dropped: more than ${maxPendingSignals} waiting to be sealed`);
      return false;
    }
    this.pendingOut++;
    this.outChain = this.outChain.then(async () => {
      try {
        send(await sealSignal(this.key, this.self, to, signal));
      } catch (error) {
        this.reject(`signal not sealed: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        this.pendingOut--;
      }
    });
    return true;
  }

  /** Opens what `from` sent and hands the signal inside to `deliver` (in order); refusals are counted. */
  incoming(from: NodeId, raw: unknown, deliver: (signal: unknown) => void): void {
    if (this.pendingIn >= maxPendingSignals) {
      this.reject(`incoming signal dropped: more than ${maxPendingSignals} waiting to be opened`);
      return;
    }
    this.pendingIn++;
    this.inChain = this.inChain.then(async () => {
      try {
        const opened = await openSignal(this.key, from, this.self, raw);
        if (opened.ok) deliver(opened.signal);
        else this.reject(opened.reason);
      } finally {
        this.pendingIn--;
      }
    });
  }
}
