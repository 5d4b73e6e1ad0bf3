// The Node peer's log: events derived from successive snapshots, and their two formats.
import { describe, expect, test } from 'vitest';
import {
  linkRttWaitMs,
  maxMemoryEventsPerSnapshot,
  maxRefusalEventsPerSnapshot,
  SnapshotLog,
  statusEvent,
  type LoggedSnapshot,
  type LogEvent,
} from '../../src/node/log-events.ts';
import { clean, formatJsonLine, formatReadableLine, maxTextChars } from '../../src/node/log-format.ts';

const self = 'S'.repeat(42) + 'A';
const peerA = 'a'.repeat(42) + 'A';
const peerB = 'b'.repeat(42) + 'A';
const at = new Date('2030-01-02T03:04:05.678Z');

function snap(over: Partial<LoggedSnapshot> = {}): LoggedSnapshot {
  return {
    id: self,
    signaling: 'joined',
    signalingDetail: 'room lab',
    links: [],
    messages: [],
    rejected: {},
    members: [{ id: self, status: 'alive', incarnation: 0 }],
    memoryEntries: [],
    gossip: { rejected: {} },
    ...over,
  };
}
const link = (peer: string, rttMs: number | null, upForMs = 100) => ({ peer, rttMs, initiator: true, upForMs });
const entry = (key: string, value: unknown, hlc: string, origin = peerA) => ({ key, value, origin, hlc });
const kinds = (events: LogEvent[]) => events.map((e) => e.event);

describe('SnapshotLog', () => {
  test('a node joining a room, linking, and learning of members and memory', () => {
    const log = new SnapshotLog();
    expect(log.next(snap({ signaling: 'connecting', signalingDetail: 'ws://h/signal' }))).toEqual([
      { event: 'signaling', status: 'connecting', detail: 'ws://h/signal' },
    ]);
    expect(log.next(snap())).toEqual([{ event: 'signaling', status: 'joined', detail: 'room lab' }]);
    // Nothing changed: nothing to say.
    expect(log.next(snap())).toEqual([]);
    // A link is announced once its round trip is measured.
    expect(log.next(snap({ links: [link(peerA, null)] }))).toEqual([]);
    expect(log.next(snap({ links: [link(peerA, 0.8, 300)] }))).toEqual([{ event: 'link-up', peer: peerA, rttMs: 0.8, initiator: true }]);
    expect(log.next(snap({ links: [link(peerA, 0.9, 1300)] }))).toEqual([]);
    const members = [
      { id: self, status: 'alive', incarnation: 0 },
      { id: peerA, status: 'alive', incarnation: 2 },
    ];
    const withMemory = snap({ links: [link(peerA, 0.9, 2300)], members, memoryEntries: [entry('greeting', { text: 'hi' }, '10.0')] });
    expect(log.next(withMemory)).toEqual([
      { event: 'member', peer: peerA, status: 'alive', previous: null, incarnation: 2 },
      { event: 'memory-set', key: 'greeting', value: { text: 'hi' }, origin: peerA, hlc: '10.0' },
    ]);
    // A newer write of the same key is a change; the same version again is not.
    expect(log.next({ ...withMemory, memoryEntries: [entry('greeting', 'bye', '11.0', self)] })).toEqual([
      { event: 'memory-set', key: 'greeting', value: 'bye', origin: self, hlc: '11.0' },
    ]);
    expect(log.next({ ...withMemory, memoryEntries: [entry('greeting', 'bye', '11.0', self)] })).toEqual([]);
    expect(log.next({ ...withMemory, memoryEntries: [] })).toEqual([{ event: 'memory-deleted', key: 'greeting' }]);
  });

  test('failed link attempts: each new failure once, with its diagnosis; settled as unreachable once; readable', () => {
    const log = new SnapshotLog();
    const failure = (attempts: number, state: 'retrying' | 'unreachable') => ({
      peer: peerB,
      attempts,
      state,
      reason: 'setup timed out',
      local: ['host' as const],
      remote: ['host' as const],
      diagnosis: 'no-ice-servers' as const,
      needsTurn: true,
      advice: 'A TURN server is needed.',
      at: 1_000 * attempts,
    });
    const { at: _at, ...first } = failure(1, 'retrying');
    log.next(snap());
    expect(log.next(snap({ linkFailures: [failure(1, 'retrying')] }))).toEqual([{ event: 'link-failed', ...first }]);
    expect(log.next(snap({ linkFailures: [failure(1, 'retrying')] }))).toEqual([]);
    const settled = log.next(snap({ linkFailures: [failure(3, 'unreachable')] }));
    expect(settled).toEqual([expect.objectContaining({ event: 'link-failed', attempts: 3, state: 'unreachable', needsTurn: true })]);
    const line = formatReadableLine(settled[0]!, at);
    expect(line).toContain('unreachable');
    expect(line).toContain('stopped trying');
    expect(line).toContain('A TURN server is needed.');
    expect(log.next(snap({ linkFailures: [] }))).toEqual([]);
  });

  test('links: down with the last round trip; a link with no round trip is still announced; a quick relink is a down and an up', () => {
    const log = new SnapshotLog();
    log.next(snap({ links: [link(peerA, 1.5, 5000)] }));
    expect(log.next(snap({ links: [link(peerA, 1.5, 6000), link(peerB, null, linkRttWaitMs)] }))).toEqual([
      { event: 'link-up', peer: peerB, rttMs: null, initiator: true },
    ]);
    expect(log.next(snap({ links: [link(peerB, 2, 4000)] }))).toEqual([{ event: 'link-down', peer: peerA, lastRttMs: 1.5, upForMs: 6000 }]);
    // B went down and came back between two snapshots: it is younger than before.
    expect(log.next(snap({ links: [link(peerB, 3, 200)] }))).toEqual([
      { event: 'link-down', peer: peerB, lastRttMs: 2, upForMs: 4000 },
      { event: 'link-up', peer: peerB, rttMs: 3, initiator: true },
    ]);
    // A link that went before it was announced is still reported down.
    expect(kinds(log.next(snap({ links: [link(peerB, 3, 300), link(peerA, null, 10)] })))).toEqual([]);
    expect(log.next(snap({ links: [link(peerB, 3, 400)] }))).toEqual([{ event: 'link-down', peer: peerA, lastRttMs: null, upForMs: 10 }]);
  });

  test('members turning suspect, dead, left, forgotten; self is not reported', () => {
    const log = new SnapshotLog();
    const m = (status: string, inc = 0) => [
      { id: self, status: 'left', incarnation: 0 },
      { id: peerA, status, incarnation: inc },
    ];
    log.next(snap({ members: m('alive') }));
    expect(log.next(snap({ members: m('suspect') }))).toEqual([{ event: 'member', peer: peerA, status: 'suspect', previous: 'alive', incarnation: 0 }]);
    expect(log.next(snap({ members: m('dead') }))).toEqual([{ event: 'member', peer: peerA, status: 'dead', previous: 'suspect', incarnation: 0 }]);
    expect(log.next(snap({ members: m('alive', 1) }))).toEqual([{ event: 'member', peer: peerA, status: 'alive', previous: 'dead', incarnation: 1 }]);
    expect(log.next(snap({ members: m('left', 1) }))).toEqual([{ event: 'member', peer: peerA, status: 'left', previous: 'alive', incarnation: 1 }]);
    expect(log.next(snap({ members: [{ id: self, status: 'left', incarnation: 0 }] }))).toEqual([{ event: 'member-forgotten', peer: peerA }]);
  });

  test("refusals are reported as they grow, the runtime's and gossip's, capped per snapshot", () => {
    const log = new SnapshotLog();
    log.next(snap({ rejected: { 'bad frame: x': 2 } }));
    expect(log.next(snap({ rejected: { 'bad frame: x': 5 }, gossip: { rejected: { 'spoofed-sender': 1 } } }))).toEqual([
      { event: 'refused', reason: 'bad frame: x', count: 3, total: 5 },
      { event: 'refused', reason: 'gossip: spoofed-sender', count: 1, total: 1 },
    ]);
    const many = Object.fromEntries(Array.from({ length: maxRefusalEventsPerSnapshot + 4 }, (_, i) => [`reason ${i}`, 2]));
    const events = log.next(snap({ rejected: { 'bad frame: x': 5, ...many } }));
    expect(events.filter((e) => e.event === 'refused')).toHaveLength(maxRefusalEventsPerSnapshot);
    expect(events.at(-1)).toEqual({ event: 'refused-more', count: 8 });
  });

  test('a flood of memory changes is summarised past the cap', () => {
    const log = new SnapshotLog();
    const entries = Array.from({ length: maxMemoryEventsPerSnapshot + 30 }, (_, i) => entry(`k${i}`, i, `${i}.0`));
    const events = log.next(snap({ memoryEntries: entries }));
    expect(events.filter((e) => e.event === 'memory-set')).toHaveLength(maxMemoryEventsPerSnapshot);
    expect(events.at(-1)).toEqual({ event: 'memory-more', count: 30 });
    expect(log.next(snap({ memoryEntries: entries }))).toEqual([]);
  });

  test('direct messages are reported once each', () => {
    const log = new SnapshotLog();
    const m1 = { seq: 1, from: peerA, text: 'hello', at: 0 };
    const m2 = { seq: 2, from: peerB, text: 'again', at: 0 };
    expect(log.next(snap({ messages: [m1] }))).toContainEqual({ event: 'message', from: peerA, text: 'hello' });
    expect(log.next(snap({ messages: [m1, m2] }))).toEqual([{ event: 'message', from: peerB, text: 'again' }]);
  });

  test('a snapshot without a gossip part (no such service) still logs the rest', () => {
    const log = new SnapshotLog();
    const bare = { id: self, signaling: 'joined', signalingDetail: '', links: [link(peerA, 1)], messages: [], rejected: {} };
    expect(kinds(log.next(bare))).toEqual(['signaling', 'link-up']);
    expect(statusEvent(bare)).toEqual({
      event: 'status',
      signaling: 'joined',
      links: [{ peer: peerA, rttMs: 1 }],
      membersAlive: 0,
      members: 0,
      roomAtLeast: null,
      keys: 0,
    });
  });
});

describe('SnapshotLog in a room larger than the member table (a rotating sample)', () => {
  const peerC = 'c'.repeat(42) + 'A';
  const peerD = 'd'.repeat(42) + 'A';
  const member = (id: string, status = 'alive') => ({ id, status, incarnation: 0 });
  const table = (sampled: boolean, live: number) => ({ sampled, live, viewSize: 3 });

  test('the switch to a sample is logged once; members rotating through it are neither new nor forgotten', () => {
    const log = new SnapshotLog();
    log.next(snap({ members: [member(self), member(peerA)], memberTable: table(false, 2) }));
    // The table fills: it becomes a sample, said once, and the member who entered with it is not news.
    expect(log.next(snap({ members: [member(self), member(peerA), member(peerB)], memberTable: table(true, 3) }))).toEqual([
      { event: 'member-table', sampled: true, live: 3, viewSize: 3 },
    ]);
    // B rotates out and C in: nothing to say.
    expect(log.next(snap({ members: [member(self), member(peerA), member(peerC)], memberTable: table(true, 3) }))).toEqual([]);
    // Held members still change status in the log, and a death heard of a member outside the sample is news.
    expect(log.next(snap({ members: [member(self), member(peerA, 'suspect'), member(peerC), member(peerD, 'dead')], memberTable: table(true, 3) }))).toEqual([
      { event: 'member', peer: peerA, status: 'suspect', previous: 'alive', incarnation: 0 },
      { event: 'member', peer: peerD, status: 'dead', previous: null, incarnation: 0 },
    ]);
    // A suspect rotating out is not forgotten; a dead member dropped after its retention is.
    expect(log.next(snap({ members: [member(self), member(peerC)], memberTable: table(true, 3) }))).toEqual([{ event: 'member-forgotten', peer: peerD }]);
    // The room shrinks below the bound: the table is whole again, and then an absence is news again.
    expect(log.next(snap({ members: [member(self), member(peerC)], memberTable: table(false, 2) }))).toEqual([
      { event: 'member-table', sampled: false, live: 2, viewSize: 3 },
    ]);
    expect(log.next(snap({ members: [member(self)], memberTable: table(false, 1) }))).toEqual([{ event: 'member-forgotten', peer: peerC }]);
  });

  test('a member table that does not decode is refused, counted and read as the whole room', () => {
    const log = new SnapshotLog();
    log.next(snap({ members: [member(self), member(peerA)], memberTable: table(false, 2) }));
    const events = log.next(snap({ members: [member(self)], memberTable: { sampled: 'yes', live: 1, viewSize: 3 } }));
    expect(events).toEqual([
      { event: 'refused', reason: expect.stringMatching(/^member table in snapshot: sampled: /) as unknown as string, count: 1, total: 1 },
      { event: 'member-forgotten', peer: peerA },
    ]);
    expect(log.next(snap({ members: [member(self)], memberTable: { sampled: true, live: -1, viewSize: 3 } }))).toMatchObject([
      { event: 'refused', count: 1, total: 2 },
    ]);
    expect(statusEvent(snap({ memberTable: { sampled: true } }))).toMatchObject({ roomAtLeast: null });
  });

  test('the status line says its members are a sample', () => {
    const s = snap({ members: [member(self), member(peerA), member(peerB, 'suspect')], memberTable: table(true, 3) });
    const event = statusEvent(s);
    expect(event).toMatchObject({ membersAlive: 2, members: 3, roomAtLeast: 3 });
    expect(formatReadableLine(event, at)).toBe(`${at.toISOString()}  status     joined; 0 links; 2/3 members alive (a sample of a room of ≥ 3); 0 memory keys`);
  });
});

describe('log lines', () => {
  test('JSON lines carry the time, the event and every field in full', () => {
    const line = formatJsonLine({ event: 'memory-set', key: 'k', value: { deep: [1, 2] }, origin: peerA, hlc: '1.0' }, at);
    expect(JSON.parse(line)).toEqual({ time: '2030-01-02T03:04:05.678Z', event: 'memory-set', key: 'k', value: { deep: [1, 2] }, origin: peerA, hlc: '1.0' });
    expect(line).not.toContain('\n');
  });

  test.each<[LogEvent, string]>([
    [
      { event: 'signaling', status: 'disconnected', detail: 'closed (code 1006); retrying in 1.7 s' },
      'signaling  disconnected: closed (code 1006); retrying in 1.7 s',
    ],
    [{ event: 'link-up', peer: peerA, rttMs: 0.84, initiator: false }, 'link up    aaaaaaaa  rtt 0.84 ms (they called)'],
    [{ event: 'link-up', peer: peerA, rttMs: null, initiator: true }, 'link up    aaaaaaaa  rtt not measured yet (we called)'],
    [{ event: 'link-down', peer: peerA, lastRttMs: 12.34, upForMs: 65_000 }, 'link down  aaaaaaaa  after 1 min (last rtt 12.3 ms)'],
    [{ event: 'member', peer: peerB, status: 'dead', previous: 'suspect', incarnation: 0 }, 'member     bbbbbbbb  dead (was suspect)'],
    [{ event: 'memory-set', key: 'greeting', value: { text: 'hello' }, origin: peerA, hlc: '1' }, 'memory     greeting = {"text":"hello"}  by aaaaaaaa'],
    [{ event: 'refused', reason: 'bad frame: too big', count: 2, total: 7 }, 'refused    2× bad frame: too big (7 in all)'],
    [
      {
        event: 'status',
        signaling: 'joined',
        links: [
          { peer: peerA, rttMs: 0.4 },
          { peer: peerB, rttMs: 1.2 },
        ],
        membersAlive: 3,
        members: 4,
        roomAtLeast: null,
        keys: 12,
      },
      'status     joined; 2 links (rtt 0.40 ms–1.20 ms); 3/4 members alive; 12 memory keys',
    ],
    [
      { event: 'member-table', sampled: true, live: 320, viewSize: 320 },
      'members    the room outgrew the member table (320 live members): it is now a sample of 320 from a room of ≥ 320, rotating; members entering or leaving the sample are not logged',
    ],
    [{ event: 'member-table', sampled: false, live: 12, viewSize: 320 }, 'members    the member table holds the whole room again (12 live members)'],
    [{ event: 'stopped', reason: 'SIGTERM', exitCode: 0 }, 'stopped    SIGTERM (exit 0)'],
  ])('readable: %j', (event, text) => {
    expect(formatReadableLine(event, at)).toBe(`2030-01-02T03:04:05.678Z  ${text}`);
  });

  test('long values are cut in readable lines', () => {
    const line = formatReadableLine({ event: 'memory-set', key: 'k', value: 'x'.repeat(500), origin: peerA, hlc: '1' }, at);
    expect(line.length).toBeLessThan(200);
    expect(line).toContain('…');
  });

  test('text from other nodes cannot reach the terminal as control sequences', () => {
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    const unsafe = /[\u0000-\u001f\u007f-\u009f\u202e]/;
    const hostile = 'hi\u001b[2J\u001b]0;pwned\u0007\r\nfake line\u009b31m\u202etxt.exe';
    const line = formatReadableLine({ event: 'message', from: peerA, text: hostile }, at);
    expect(line).not.toMatch(unsafe);
    expect(line).toContain('\\u001b[2J');
    expect(line.split('\n')).toHaveLength(1);
    for (const event of [
      { event: 'memory-set', key: hostile, value: hostile, origin: peerA, hlc: '1' },
      { event: 'refused', reason: hostile, count: 1, total: 1 },
      { event: 'memory-deleted', key: hostile },
    ] as LogEvent[]) {
      expect(formatReadableLine(event, at)).not.toMatch(unsafe);
    }
    expect(clean('x'.repeat(maxTextChars + 50))).toHaveLength(maxTextChars);
  });
});
