// A look at a frame's JSON text before JSON.parse builds it. Parsing a 60 KB object of 5,000
// keys costs about 1.7 ms and a thousand levels of nesting about 0.15 ms, all before the schema
// could refuse it (measured by `npm run bench -- signaling`, attacks c and d); this scan is one
// pass over the characters and builds nothing, so a frame far beyond the bounds of relayed data
// (data-bounds.ts) is refused at a fraction of that cost. It over-counts nothing: members are
// the commas and colons outside strings, which any value of that many members must contain.

export interface JsonTextShape {
  /** Deepest nesting of objects and arrays (the top object is 1). */
  depth: number;
  /** Colons and commas outside strings: at least the number of object keys and array items beyond the first. */
  members: number;
}

const quote = 0x22;
const backslash = 0x5c;
const openBrace = 0x7b;
const openBracket = 0x5b;
const closeBrace = 0x7d;
const closeBracket = 0x5d;
const colon = 0x3a;
const comma = 0x2c;

/**
 * The shape of `text` read as JSON, or null as soon as it goes past `maxDepth` or `maxMembers`
 * (the scan stops there). Not a validator: malformed text is left to JSON.parse.
 */
export function jsonTextShapeWithin(text: string, maxDepth: number, maxMembers: number): JsonTextShape | null {
  let depth = 0;
  let deepest = 0;
  let members = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === backslash) i++;
      else if (c === quote) inString = false;
      continue;
    }
    if (c === quote) inString = true;
    else if (c === openBrace || c === openBracket) {
      if (++depth > maxDepth) return null;
      if (depth > deepest) deepest = depth;
    } else if (c === closeBrace || c === closeBracket) depth--;
    else if ((c === colon || c === comma) && ++members > maxMembers) return null;
  }
  return { depth: deepest, members };
}
