// The announcement batcher on a hand-driven timer: one batch per room per window, departures
// before arrivals, and a full batch sent at once.
import { describe, expect, it } from 'vitest';
import { Announcer, type AnnouncementBatch } from '../../signaling/announcements.ts';
import type { RoomKey } from '../../signaling/rooms.ts';
import type { NodeId } from '../../src/core/types.ts';

function setup(maxIds = 256) {
  const sent: Array<{ room: string; batch: AnnouncementBatch }> = [];
  const due: Array<() => void> = [];
  const announcer = new Announcer({
    windowMs: 100,
    maxIds,
    deliver: (room, batch) => sent.push({ room, batch }),
    schedule: (fn) => {
      due.push(fn);
      return { cancel: () => due.splice(due.indexOf(fn), 1) };
    },
  });
  const tick = () => due.splice(0).forEach((fn) => fn());
  return { announcer, sent, tick };
}
const room = (name: string) => name as RoomKey;
const id = (name: string) => name as NodeId;

describe('Announcer', () => {
  it('sends one frame per room per window with every change in it', () => {
    const { announcer, sent, tick } = setup();
    for (let i = 0; i < 50; i++) announcer.joined(room('a'), id(`n${i}`));
    announcer.left(room('a'), id('n3'));
    announcer.joined(room('b'), id('x'));
    expect(sent).toEqual([]);
    tick();
    expect(sent).toHaveLength(2);
    const a = sent.find((s) => s.room === 'a')?.batch;
    expect(a?.joined).toHaveLength(49);
    expect(a?.left).toEqual(['n3']);
    expect(sent.find((s) => s.room === 'b')?.batch).toEqual({ joined: ['x'], left: [] });
    tick();
    expect(sent).toHaveLength(2);
  });

  it('announces a node that left and came back in one window in both lists (left first)', () => {
    const { announcer, sent, tick } = setup();
    announcer.left(room('a'), id('n'));
    announcer.joined(room('a'), id('n'));
    tick();
    expect(sent[0]?.batch).toEqual({ left: ['n'], joined: ['n'] });
  });

  it('sends a batch as soon as it holds the most ids a frame carries', () => {
    const { announcer, sent } = setup(3);
    for (const n of ['a', 'b', 'c']) announcer.joined(room('r'), id(n));
    expect(sent).toEqual([{ room: 'r', batch: { left: [], joined: ['a', 'b', 'c'] } }]);
  });

  it('flushAll sends what is pending (a closing server)', () => {
    const { announcer, sent } = setup();
    announcer.left(room('r'), id('a'));
    announcer.flushAll();
    expect(sent).toEqual([{ room: 'r', batch: { left: ['a'], joined: [] } }]);
  });
});
