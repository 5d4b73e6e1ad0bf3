// Sizes of pBFT's JSON in UTF-8 bytes, the unit the frame limit (src/core/envelope.ts,
// maxFrameBytes) is in; see src/core/utf8.ts for why not characters.
import { canonicalBytes } from './json.ts';
import { utf8Length } from '../utf8.ts';

export { utf8Length };

/** UTF-8 bytes of a value's canonical JSON (json.ts), the text that is signed, hashed and sent. */
export function canonicalUtf8Length(value: unknown): number {
  return utf8Length(canonicalBytes(value));
}

/**
 * Bytes `text` takes inside a JSON string on the wire (without the quotes), exactly as
 * JSON.stringify writes it and TextEncoder encodes it: `"` and `\` are escaped, control
 * characters too (2 or 6 bytes), a lone surrogate becomes a 6-byte \uXXXX escape.
 */
export function jsonStringBytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) bytes += unitBytes(text, i);
  return bytes;
}

/** jsonStringBytes of the character starting at `i` (a surrogate pair counts once, at its high half). */
function unitBytes(text: string, i: number): number {
  const unit = text.charCodeAt(i);
  if (unit === 0x22 || unit === 0x5c) return 2;
  if (unit < 0x20) return unit === 0x08 || unit === 0x09 || unit === 0x0a || unit === 0x0c || unit === 0x0d ? 2 : 6;
  if (unit < 0x80) return 1;
  if (unit < 0x800) return 2;
  if (unit >= 0xd800 && unit <= 0xdbff) {
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    return next >= 0xdc00 && next <= 0xdfff ? 4 : 6;
  }
  if (unit >= 0xdc00 && unit <= 0xdfff) {
    const prev = i > 0 ? text.charCodeAt(i - 1) : 0;
    return prev >= 0xd800 && prev <= 0xdbff ? 0 : 6;
  }
  return 3;
}

/**
 * Cuts `text` into consecutive pieces of at most `firstBytes` (the first) and `restBytes` (the
 * others) jsonStringBytes each, never inside a surrogate pair. Budgets below 12 bytes are raised
 * to 12, so every piece holds at least one character. Joined, the pieces are `text` again.
 */
export function splitByJsonBytes(text: string, firstBytes: number, restBytes: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  let used = 0;
  let budget = Math.max(12, firstBytes);
  for (let i = 0; i < text.length; i++) {
    // A pair counts 4 at its high half (its low half 0) and is kept whole by the i++ below.
    const size = unitBytes(text, i);
    if (used + size > budget && i > start) {
      pieces.push(text.slice(start, i));
      start = i;
      used = 0;
      budget = Math.max(12, restBytes);
    }
    used += size;
    if (isLowAfterHigh(text, i + 1)) i++;
  }
  pieces.push(text.slice(start));
  return pieces;
}

function isLowAfterHigh(text: string, i: number): boolean {
  if (i <= 0 || i >= text.length) return false;
  const prev = text.charCodeAt(i - 1);
  const unit = text.charCodeAt(i);
  return prev >= 0xd800 && prev <= 0xdbff && unit >= 0xdc00 && unit <= 0xdfff;
}
