// Sizes in UTF-8 bytes, the unit every frame limit is in (src/core/envelope.ts maxFrameBytes).
// A string's `.length` counts UTF-16 code units: an emoji is 2 of them but 4 bytes on the wire,
// a CJK character 1 but 3 bytes, so a bound in characters lets a message grow up to 3× past the
// byte limit it was meant to respect.

/**
 * Bytes of `text` encoded as UTF-8, without encoding it. A lone surrogate counts 3 bytes, the
 * U+FFFD that TextEncoder puts in its place (JSON.stringify escapes lone surrogates anyway).
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
