// Standard base64 (RFC 4648 §4, padded) for chunk bytes inside JSON frames. Frames on a link are
// UTF-8 JSON (src/core/envelope.ts) and routed payloads are signed as canonical JSON, so binary
// travels as base64 text; it costs a third more bytes on the wire.

/** Bytes converted per String.fromCharCode call (its argument count is bounded). */
const sliceBytes = 8_192;

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += sliceBytes) {
    binary += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + sliceBytes)));
  }
  return btoa(binary);
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes padded base64; null for anything else. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | null {
  if (!base64Pattern.test(text)) return null;
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
