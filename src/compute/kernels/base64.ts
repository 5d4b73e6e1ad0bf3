// Bytes ⇄ base64 without Buffer (Node-only) or btoa (string-at-a-time and slow on large
// tiles): results cross the mesh as JSON, so a kernel that produces pixels ships them as text.

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const lookup = new Int16Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) lookup[alphabet.charCodeAt(i)] = i;

export function bytesToBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = i + 1 < bytes.length ? bytes[i + 1]! : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2]! : 0;
    const triple = (a << 16) | (b << 8) | c;
    chunk +=
      alphabet[(triple >>> 18) & 63]! +
      alphabet[(triple >>> 12) & 63]! +
      (i + 1 < bytes.length ? alphabet[(triple >>> 6) & 63]! : '=') +
      (i + 2 < bytes.length ? alphabet[triple & 63]! : '=');
    // Flush now and then so string building stays linear on engines that do not rope.
    if (chunk.length >= 8192) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk);
  return parts.join('');
}

/** The bytes, or null when `text` is not canonical padded base64. */
export function base64ToBytes(text: string): Uint8Array | null {
  if (text.length % 4 !== 0) return null;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const isLast = i + 4 === text.length;
    const values = [0, 1, 2, 3].map((k) => {
      const code = text.charCodeAt(i + k);
      if (isLast && text[i + k] === '=' && k >= 4 - padding) return 0;
      return code < 128 ? lookup[code]! : -1;
    });
    if (values.some((x) => x < 0)) return null;
    const triple = (values[0]! << 18) | (values[1]! << 12) | (values[2]! << 6) | values[3]!;
    if (o < out.length) out[o++] = (triple >>> 16) & 0xff;
    if (o < out.length) out[o++] = (triple >>> 8) & 0xff;
    if (o < out.length) out[o++] = triple & 0xff;
  }
  return out;
}
