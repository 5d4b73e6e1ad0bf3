// Issue 9, fuzzing the worker ⇄ page protocol: the messages both ways (random and mutated
// valid ones), and what a page can make the worker do — every service command, called with
// random and mutated arguments. A decoder refuses with a reason and never throws; a command
// either answers or refuses with a deliberate Error that says what was wrong (never a
// TypeError/RangeError from input that slipped past the checks, never a non-Error throw).
// SEED=<n> replays the inputs; LONG=1 runs ten times as many.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { decodePageToWorker, decodeWorkerToPage } from '../../src/worker/protocol.ts';
import { RealRoom } from '../sim/real-node/real-room.ts';
import { mutant } from './mutate.ts';
import { envSeed, longMode, replayHint } from '../sim/seed.ts';

const peer = 'A'.repeat(42) + 'B';
const runs = longMode() ? 2_000 : 200;

const pageToWorkerSeeds = [
  {
    type: 'init',
    slot: 0,
    room: 'lobby',
    signalingUrl: 'ws://localhost:8080/signal',
    iceServers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }],
  },
  { type: 'link-up', peer, linkId: 'abcdefgh' },
  { type: 'link-down', peer, linkId: 'abcdefgh', reason: 'closed' },
  { type: 'link-signal', peer, linkId: 'abcdefgh', signal: { type: 'offer', sdp: 'v=0' } },
  { type: 'command', id: 1, name: 'propose', args: [{ kind: 'decision', value: 'x' }] },
  { type: 'shutdown' },
];
const workerToPageSeeds = [
  { type: 'open-link', peer, linkId: 'abcdefgh', initiator: true, iceServers: [] },
  { type: 'signal-link', peer, linkId: 'abcdefgh', signal: { type: 'answer', sdp: 'v=0' } },
  { type: 'close-link', peer, linkId: 'abcdefgh' },
  { type: 'snapshot', snapshot: { id: peer, links: [] } },
  { type: 'reply', id: 1, ok: false, error: 'refused' },
];

describe('worker ⇄ page messages', () => {
  test('mutated and random messages are refused with a reason or accepted as valid, never thrown on', () => {
    const seed = envSeed() ?? 1;
    const check = (decode: (raw: unknown) => { ok: boolean; error?: string }, raw: unknown) => {
      const decoded = decode(raw);
      if (!decoded.ok) expect(decoded.error).toMatch(/\S/);
      else expect(decode(structuredClone(raw)).ok).toBe(true);
    };
    fc.assert(
      fc.property(fc.oneof(mutant(pageToWorkerSeeds), fc.anything()), (raw) => check(decodePageToWorker, raw)),
      { seed, numRuns: runs * 5 },
    );
    fc.assert(
      fc.property(fc.oneof(mutant(workerToPageSeeds), fc.anything()), (raw) => check(decodeWorkerToPage, raw)),
      { seed, numRuns: runs * 5 },
    );
    // A prototype-polluting key is data, never a prototype change.
    decodePageToWorker(JSON.parse('{"type":"command","id":1,"name":"x","args":[],"__proto__":{"polluted":1}}'));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('service commands from the page', () => {
  test('every command answers or refuses with a deliberate Error, whatever the arguments', async () => {
    const seed = envSeed() ?? 1;
    const room = new RealRoom(seed);
    const nodes = await room.replicaRoom(4);
    const node = nodes[0]!;
    // Every command the node's services offer its page (the page reaches them by name only).
    const commands = node.runtime!.serviceCommandNames();
    expect(commands.length).toBeGreaterThan(3);
    const argSeeds: unknown[] = [
      [{ kind: 'decision', value: 'x' }],
      [{ kind: 'kv-set', key: 'k', value: 1 }],
      [{ kind: 'mandelbrot', params: { width: 64, height: 64 }, tasks: 4, priority: 'high' }],
      ['gossip', { fanout: 3 }],
      [{ fanout: 3, cycleMs: 2_000 }],
      ['key', { a: 1 }],
      [null],
      [],
    ];
    const problems: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: commands.length - 1 }), fc.oneof(mutant(argSeeds), fc.array(fc.anything(), { maxLength: 3 })), async (which, raw) => {
        const name = commands[which]!;
        const args = Array.isArray(raw) ? raw : [raw];
        let outcome: unknown;
        try {
          outcome = room.command(node, name, ...args);
          if (outcome instanceof Promise) {
            // Some commands resolve only once consensus or a job is done: do not wait for that.
            outcome.catch((error: unknown) => {
              if (!(error instanceof Error) || error instanceof TypeError || error instanceof RangeError)
                problems.push(`${name}(${JSON.stringify(args)?.slice(0, 120)}) rejected with ${String(error)}`);
            });
          }
        } catch (error) {
          if (!(error instanceof Error) || error instanceof TypeError || error instanceof RangeError) {
            problems.push(`${name}(${JSON.stringify(args)?.slice(0, 120)}) threw ${String(error)}`);
          }
        }
        await room.runFor(20);
      }),
      { seed, numRuns: runs },
    );
    await room.runFor(3_000);
    expect(problems.slice(0, 5), `commands that threw something other than a deliberate refusal — ${replayHint(seed)}`).toEqual([]);
    room.failOnNodeErrors();
    expect(room.logConflicts()).toEqual([]);
  }, 60_000);
});
