// The scan that refuses hostile frames before JSON.parse builds them: it must never refuse what
// the relayed-data bounds allow, and must stop on what goes far beyond them.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { jsonTextShapeWithin } from '../../signaling/json-text-shape.ts';
import { maxDataDepth, maxDataKeys, maxFrameDepth, maxFrameMembers } from '../../signaling/protocol.ts';
import { withinDataBounds } from '../../signaling/data-bounds.ts';

describe('jsonTextShapeWithin', () => {
  it('counts depth and members outside strings only', () => {
    expect(jsonTextShapeWithin('{"a":[1,2,{"b":"x:,{[\\"]"}]}', 10, 100)).toEqual({ depth: 3, members: 4 });
    expect(jsonTextShapeWithin('"{[:,"', 0, 0)).toEqual({ depth: 0, members: 0 });
  });

  it('stops at the first level or member too many', () => {
    expect(jsonTextShapeWithin('[[[]]]', 2, 10)).toBeNull();
    expect(jsonTextShapeWithin('[1,2,3]', 5, 1)).toBeNull();
    expect(jsonTextShapeWithin(`{"deep":${'['.repeat(20_000)}${']'.repeat(20_000)}}`, maxFrameDepth, maxFrameMembers)).toBeNull();
    const wide = JSON.stringify({ type: 'signal', to: 'x', data: Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i])) });
    expect(jsonTextShapeWithin(wide, maxFrameDepth, maxFrameMembers)).toBeNull();
  });

  it('never refuses a signal frame whose data is within the relayed-data bounds', () => {
    const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
      array: fc.array(tie('value'), { maxLength: 6 }),
      object: fc.dictionary(fc.string(), tie('value'), { maxKeys: 6 }),
    })).value;
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json, { maxKeys: 8 }), (data) => {
        fc.pre(withinDataBounds(data, maxDataKeys, maxDataDepth));
        const frame = JSON.stringify({ type: 'signal', to: 'A'.repeat(43), data });
        expect(jsonTextShapeWithin(frame, maxFrameDepth, maxFrameMembers)).not.toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
