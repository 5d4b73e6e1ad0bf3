// utf8Length agrees with what TextEncoder produces, without encoding.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { utf8Length } from '../../src/core/utf8.ts';

describe('utf8Length', () => {
  test('equals the length TextEncoder gives, for any string (lone surrogates included)', () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => utf8Length(text) === encoder.encode(text).length),
      { numRuns: 2_000 },
    );
    expect(utf8Length('a語😀')).toBe(1 + 3 + 4);
  });
});
