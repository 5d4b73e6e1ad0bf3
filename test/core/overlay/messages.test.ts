// The overlay's wire format: what decodes, what is refused, and that nothing throws.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { advertSigningText, decodeOverlayMessage, describeOverlayMessage, explainOverlayMessage, maxNodeIdChars } from '../../../src/core/overlay/messages.ts';
import { advertRadiusHops, maxAdvertLinks, maxDigestEntries } from '../../../src/core/overlay/config.ts';

const advert = { type: 'advert', origin: 'a', seq: 7, ageMs: 12, ttl: 3, links: [{ peer: 'b', rttMs: 30 }, { peer: 'c' }], sig: 'sim:a' };

describe('overlay messages', () => {
  it('decodes each message type and survives a JSON round trip', () => {
    const valid = [
      advert,
      { type: 'digest', entries: [{ origin: 'a', seq: 3 }] },
      { type: 'request', origins: ['a', 'b'] },
      { type: 'unlink', reason: 'prune' },
    ];
    for (const m of valid) {
      expect(decodeOverlayMessage(JSON.parse(JSON.stringify(m)))).toEqual(m);
      expect(describeOverlayMessage(decodeOverlayMessage(m)!)).toBeTypeOf('string');
    }
  });

  it.each([
    ['not an object', 'advert'],
    ['null', null],
    ['an unknown type', { type: 'gossip' }],
    ['an extra field', { ...advert, extra: 1 }],
    ['a missing signature', { ...advert, sig: undefined }],
    ['an empty signature', { ...advert, sig: '' }],
    ['a fractional seq', { ...advert, seq: 1.5 }],
    ['a string seq', { ...advert, seq: '7' }],
    ['a negative age', { ...advert, ageMs: -1 }],
    ['no links (passed a shape check once, then broke links.map)', { ...advert, links: undefined }],
    ['links that are not a list', { ...advert, links: { map: 1 } }],
    ['a missing hop budget', { ...advert, ttl: undefined }],
    ['a hop budget of 0', { ...advert, ttl: 0 }],
    ['a hop budget beyond the radius', { ...advert, ttl: advertRadiusHops + 1 }],
    ['a fractional RTT', { ...advert, links: [{ peer: 'b', rttMs: 1.5 }] }],
    ['an absurd RTT', { ...advert, links: [{ peer: 'b', rttMs: 1e9 }] }],
    ['an id with spaces', { ...advert, origin: 'a b' }],
    ['an over-long id', { ...advert, origin: 'x'.repeat(maxNodeIdChars + 1) }],
    ['too many links', { ...advert, links: Array.from({ length: maxAdvertLinks + 1 }, (_, i) => ({ peer: `p${i}` })) }],
    ['an over-long digest', { type: 'digest', entries: Array.from({ length: maxDigestEntries + 1 }, (_, i) => ({ origin: `p${i}`, seq: 1 })) }],
    ['an unknown unlink reason', { type: 'unlink', reason: 'bored' }],
  ])('refuses %s', (_what, raw) => {
    expect(decodeOverlayMessage(raw)).toBeNull();
    const explained = explainOverlayMessage(raw);
    expect(explained.ok).toBe(false);
    if (!explained.ok) expect(explained.error.length).toBeGreaterThan(0);
  });

  it('never throws, whatever arrives', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record(
            {
              type: fc.constantFrom('advert', 'digest', 'request', 'unlink'),
              origin: fc.anything(),
              seq: fc.anything(),
              links: fc.anything(),
              entries: fc.anything(),
            },
            { requiredKeys: ['type'] },
          ),
        ),
        (raw) => {
          const msg = decodeOverlayMessage(raw);
          if (msg) expect(describeOverlayMessage(msg)).toBeTypeOf('string');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('signs everything but the age, in a fixed text form', () => {
    const text = advertSigningText({ origin: advert.origin as never, seq: 7, links: advert.links as never });
    expect(text).toBe('tabmesh-advert/1\na\n7\nb@30,c');
    expect(text).not.toContain('12');
  });
});
