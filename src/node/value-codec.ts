// How a stored value becomes text in a file and back. IndexedDB stores values by structured
// clone, so the file store must keep what structured clone keeps — binary data, Maps, Sets,
// Dates, undefined, NaN, bigints — or a core that works in a tab would read back something
// else on a Node peer. Plain JSON stays plain JSON (readable with any editor); everything else
// becomes a small tagged object. What a file cannot hold (a CryptoKey, a function, a class
// instance) is refused when written, as IndexedDB refuses what it cannot clone.
import { fromBase64Url, toBase64Url } from '../crypto/base64url.ts';

/** The key that marks a tagged value. A plain object that has it is itself wrapped. */
export const tagKey = '$tm';
/** Deepest nesting written or read; deeper values are refused (a stack is finite). */
export const maxValueDepth = 256;

type Encoded = null | boolean | number | string | Encoded[] | { [key: string]: Encoded };

const typedArrays = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type TypedArrayName = keyof typeof typedArrays;
const isTypedArrayName = (name: string): name is TypedArrayName => Object.hasOwn(typedArrays, name);

/** A value that cannot be stored, with the path to the offending part. */
export class UnstorableValueError extends Error {
  override readonly name = 'UnstorableValueError';
}

/** Encodes `value` for a file; throws UnstorableValueError naming what cannot be stored. */
export function encodeValue(value: unknown): Encoded {
  return encode(value, '', 0, new Set());
}

function encode(value: unknown, path: string, depth: number, ancestors: Set<object>): Encoded {
  const where = path === '' ? 'the value' : `value${path}`;
  if (depth > maxValueDepth) throw new UnstorableValueError(`${where} is nested deeper than ${maxValueDepth} levels`);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isNaN(value)) return { [tagKey]: 'num', v: 'NaN' };
      if (value === Infinity) return { [tagKey]: 'num', v: 'Infinity' };
      if (value === -Infinity) return { [tagKey]: 'num', v: '-Infinity' };
      if (Object.is(value, -0)) return { [tagKey]: 'num', v: '-0' };
      return value;
    case 'undefined':
      return { [tagKey]: 'undef' };
    case 'bigint':
      return { [tagKey]: 'bigint', v: value.toString() };
    case 'function':
    case 'symbol':
      throw new UnstorableValueError(`${where} is a ${typeof value}, which cannot be stored`);
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.has(object)) throw new UnstorableValueError(`${where} refers back to itself; a circular value cannot be stored in a file`);
  if (typeof CryptoKey !== 'undefined' && object instanceof CryptoKey) {
    throw new UnstorableValueError(
      `${where} is a CryptoKey: Node cannot write a non-extractable key to a file (the Node peer keeps its identity in identity.json instead)`,
    );
  }
  if (object instanceof ArrayBuffer) return { [tagKey]: 'buf', v: toBase64Url(new Uint8Array(object)) };
  if (ArrayBuffer.isView(object)) {
    const name = object.constructor.name;
    if (object instanceof DataView || !isTypedArrayName(name)) throw new UnstorableValueError(`${where} is a ${name}, which this store does not keep`);
    return { [tagKey]: 'typed', k: name, v: toBase64Url(new Uint8Array(object.buffer, object.byteOffset, object.byteLength)) };
  }
  if (object instanceof Date) return { [tagKey]: 'date', v: encode(object.getTime(), path, depth + 1, ancestors) };
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      const out: Encoded[] = [];
      for (let i = 0; i < object.length; i++) out.push(encode(object[i], `${path}[${i}]`, depth + 1, ancestors));
      return out;
    }
    if (object instanceof Map) {
      const entries: Encoded[] = [];
      let i = 0;
      for (const [k, v] of object) {
        entries.push([encode(k, `${path}<key ${i}>`, depth + 2, ancestors), encode(v, `${path}<${i}>`, depth + 2, ancestors)]);
        i++;
      }
      return { [tagKey]: 'map', v: entries };
    }
    if (object instanceof Set) {
      const items: Encoded[] = [];
      let i = 0;
      for (const item of object) items.push(encode(item, `${path}<${i++}>`, depth + 1, ancestors));
      return { [tagKey]: 'set', v: items };
    }
    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const name = (object as { constructor?: { name?: unknown } }).constructor?.name;
      throw new UnstorableValueError(
        `${where} is an instance of ${typeof name === 'string' ? name : 'a class'}; only plain objects, arrays, binary data, Maps, Sets and Dates can be stored`,
      );
    }
    const out: { [key: string]: Encoded } = {};
    for (const key of Object.keys(object)) {
      put(out, key, encode((object as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, ancestors));
    }
    return Object.hasOwn(out, tagKey) ? { [tagKey]: 'obj', v: out } : out;
  } finally {
    ancestors.delete(object);
  }
}

/** Sets an own property, even one named __proto__ (plain assignment would change the prototype). */
function put(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export type DecodedValue = { ok: true; value: unknown } | { ok: false; error: string };

/** Decodes what encodeValue made (read back from a file: checked, never trusted). */
export function decodeValue(raw: unknown): DecodedValue {
  try {
    return { ok: true, value: decode(raw, '', 0) };
  } catch (error) {
    if (error instanceof BadEncodingError) return { ok: false, error: error.message };
    throw error;
  }
}

class BadEncodingError extends Error {}

function decode(raw: unknown, path: string, depth: number): unknown {
  const where = path === '' ? 'the value' : `value${path}`;
  if (depth > maxValueDepth) throw new BadEncodingError(`${where} is nested deeper than ${maxValueDepth} levels`);
  if (raw === null || typeof raw === 'string' || typeof raw === 'boolean') return raw;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) throw new BadEncodingError(`${where} is not a finite number`);
    return raw;
  }
  if (Array.isArray(raw)) return raw.map((item, i) => decode(item, `${path}[${i}]`, depth + 1));
  if (typeof raw !== 'object') throw new BadEncodingError(`${where} has type ${typeof raw}`);
  const object = raw as Record<string, unknown>;
  if (!Object.hasOwn(object, tagKey)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(object)) put(out, key, decode(object[key], `${path}.${key}`, depth + 1));
    return out;
  }
  const tag = object[tagKey];
  const v = object['v'];
  const text = (what: string): string => {
    if (typeof v !== 'string') throw new BadEncodingError(`${where}: a ${what} needs a string "v"`);
    return v;
  };
  const bytes = (): Uint8Array<ArrayBuffer> => {
    const decoded = fromBase64Url(text('binary value'));
    if (!decoded) throw new BadEncodingError(`${where}: binary data is not base64url`);
    return decoded as Uint8Array<ArrayBuffer>;
  };
  switch (tag) {
    case 'num':
      if (v === 'NaN') return NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (v === '-0') return -0;
      throw new BadEncodingError(`${where}: unknown special number ${JSON.stringify(v)}`);
    case 'undef':
      return undefined;
    case 'bigint': {
      const digits = text('bigint');
      if (!/^-?\d{1,4096}$/.test(digits)) throw new BadEncodingError(`${where}: a bigint must be decimal digits`);
      return BigInt(digits);
    }
    case 'buf':
      return bytes().buffer;
    case 'typed': {
      const kind = object['k'];
      if (typeof kind !== 'string' || !isTypedArrayName(kind)) throw new BadEncodingError(`${where}: unknown typed array kind ${JSON.stringify(kind)}`);
      const data = bytes();
      const Kind = typedArrays[kind];
      if (data.byteLength % Kind.BYTES_PER_ELEMENT !== 0) throw new BadEncodingError(`${where}: ${data.byteLength} bytes do not fill whole ${kind} elements`);
      return new Kind(data.buffer, 0, data.byteLength / Kind.BYTES_PER_ELEMENT);
    }
    case 'date': {
      const time = decode(v, path, depth + 1);
      if (typeof time !== 'number') throw new BadEncodingError(`${where}: a date needs a number`);
      return new Date(time);
    }
    case 'map': {
      if (!Array.isArray(v)) throw new BadEncodingError(`${where}: a Map needs an array of pairs`);
      const map = new Map<unknown, unknown>();
      v.forEach((pair: unknown, i) => {
        if (!Array.isArray(pair) || pair.length !== 2) throw new BadEncodingError(`${where}<${i}>: a Map entry is a [key, value] pair`);
        map.set(decode(pair[0], `${path}<key ${i}>`, depth + 2), decode(pair[1], `${path}<${i}>`, depth + 2));
      });
      return map;
    }
    case 'set':
      if (!Array.isArray(v)) throw new BadEncodingError(`${where}: a Set needs an array`);
      return new Set(v.map((item: unknown, i) => decode(item, `${path}<${i}>`, depth + 1)));
    case 'obj': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new BadEncodingError(`${where}: a wrapped object needs an object`);
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(v)) put(out, key, decode((v as Record<string, unknown>)[key], `${path}.${key}`, depth + 1));
      return out;
    }
    default:
      throw new BadEncodingError(`${where}: unknown tag ${JSON.stringify(tag)}`);
  }
}
