// The bench's split of traffic by protocol (test/sim/vopr/frame-kinds.ts): it reads only a
// frame's first bytes, so it must agree with what encodeFrame writes, and never misfile junk.
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/core/envelope.ts';
import { FrameKinds } from './vopr/frame-kinds.ts';

describe('frame kinds', () => {
  it('files frames by protocol and type; link pings and pongs are keepalive', () => {
    const kinds = new FrameKinds();
    const advert = encodeFrame('overlay', { type: 'advert', links: ['a', 'b'] });
    kinds.count(advert);
    kinds.count(advert);
    kinds.count(encodeFrame('link', { type: 'ping', n: 1 }));
    kinds.count(encodeFrame('link', { type: 'bye', reason: 'closed' }));
    expect(Object.fromEntries(kinds.byProtocol)).toEqual({
      overlay: { frames: 2, bytes: 2 * advert.byteLength },
      keepalive: { frames: 1, bytes: encodeFrame('link', { type: 'ping', n: 1 }).byteLength },
      link: { frames: 1, bytes: encodeFrame('link', { type: 'bye', reason: 'closed' }).byteLength },
    });
    expect([...kinds.byType.keys()]).toEqual(['overlay/advert', 'link/ping', 'link/bye']);
  });

  it('a frame that is not { p, m: { type } } is unknown, never misread', () => {
    const kinds = new FrameKinds();
    kinds.count(new TextEncoder().encode('not json at all'));
    kinds.count(encodeFrame('pbft', ['prepare', 1]));
    kinds.count(encodeFrame('gossip', { seq: 1, type: 'news' }));
    expect([...kinds.byType.keys()]).toEqual(['unknown/unknown', 'pbft/unknown', 'gossip/unknown']);
  });
});
