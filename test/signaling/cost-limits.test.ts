// Issue 19, findings 3 and 4: what a connection may cost the server. Limits in bytes per second
// as well as frames, control frames counted like any other, and relayed `data` bounded in keys
// and depth — refused with a reason and a strike, never an internal error.
import { describe, expect, it } from 'vitest';
import { maxDataDepth, maxDataKeys } from '../../signaling/protocol.ts';
import { rateLimitBurst, rateLimitBurstBytes } from '../../signaling/limits.ts';
import type { TestClient } from './helpers.ts';
import { joinMany, serverPerTest, type Running } from './helpers.ts';
import type { TabmeshServerOptions } from '../../signaling/server.ts';
import { withinDataBounds } from '../../signaling/data-bounds.ts';

const { clients, start } = serverPerTest();
let running: Running | undefined;

async function pair(options: TabmeshServerOptions = {}): Promise<[TestClient, TestClient]> {
  running = await start(options);
  const members = (await joinMany(running.wsUrl, 'r', 2)) as [TestClient, TestClient];
  clients.push(...members);
  return members;
}

/** Reads error frames until the socket closes or none comes; returns their codes and messages. */
async function errorsUntilQuiet(client: TestClient): Promise<Array<{ code: string; message: string }>> {
  const errors: Array<{ code: string; message: string }> = [];
  for (;;) {
    const frame = await client.next().catch(() => null);
    if (!frame) return errors;
    if (frame.type === 'error') errors.push({ code: frame.code, message: frame.message });
  }
}

describe('bytes per second', () => {
  it(`refuses large frames beyond ${rateLimitBurstBytes} bytes at once, long before the frame limit`, async () => {
    // The default burst; a slow refill, so a loaded machine taking its time admits no extra frame.
    const [a, b] = await pair({ rateLimitBytesPerS: 1_024 });
    const payload = 'x'.repeat(60 * 1024);
    const sent = 10;
    for (let i = 0; i < sent; i++) a.send({ type: 'signal', to: b.id, data: { payload } });
    const frames = await a.drain();
    const refused = frames.filter((f) => f.type === 'error');
    // Far fewer than the 100-frame burst got through; the rest were refused for their bytes.
    expect(refused.length).toBeGreaterThanOrEqual(sent - Math.ceil(rateLimitBurstBytes / (60 * 1024)));
    for (const error of refused) expect(error).toMatchObject({ code: 'rate-limited', message: expect.stringMatching(/bytes per second/) });
    const relayed = (await b.drain()).filter((f) => f.type === 'signal');
    expect(relayed.length).toBe(sent - refused.length);
    expect(relayed.length).toBeLessThan(sent);
    expect(running?.server.stats().refusals['rate-limited']).toBe(refused.length);
  });
});

describe('control frames', () => {
  it('counts pings against the frame limit: answered within it, refused beyond, and a ping flood is closed', async () => {
    // A slow refill and few strikes, so that however slowly a loaded machine reads the flood,
    // neither refill nor forgiveness can keep up with it.
    const burst = 20;
    const [a, b] = await pair({ rateLimitPerS: 2, rateLimitBurst: burst, maxFloodStrikes: 50, floodStrikeLeakPerS: 1 });
    let pongs = 0;
    a.ws.on('pong', () => pongs++);
    const flood = 400;
    for (let i = 0; i < flood; i++) a.ws.ping();
    const errors = await errorsUntilQuiet(a);
    const { code, reason } = await a.closed;
    expect(code).toBe(1008);
    expect(reason).toContain('refused frames');
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(error).toMatchObject({ code: 'rate-limited', message: expect.stringMatching(/control frames included.*ping/) });
    // About the burst was answered (the join took one token of it; the refill adds 2 a second).
    expect(pongs).toBeGreaterThan(0);
    expect(pongs).toBeLessThan(flood / 4);
    await b.announced({ left: [a.id] });
    expect(running?.server.stats().closedForFlooding).toBe(1);
  });

  it('counts unsolicited pongs against the frame limit too', async () => {
    const [a] = await pair({ rateLimitPerS: 2 });
    for (let i = 0; i < rateLimitBurst + 20; i++) a.ws.pong();
    const error = await a.nextError();
    expect(error).toMatchObject({ code: 'rate-limited', message: expect.stringMatching(/pong/) });
  });
});

describe('relayed data', () => {
  it(`refuses data with more than ${maxDataKeys} keys, with a reason, and relays nothing`, async () => {
    const [a, b] = await pair();
    const wide = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, 0]));
    a.send({ type: 'signal', to: b.id, data: wide });
    expect(await a.nextError()).toMatchObject({ code: 'bad-message', message: expect.stringMatching(new RegExp(`data: at most ${maxDataKeys} keys`)) });
    // A wide array hidden one level down counts the same.
    a.send({ type: 'signal', to: b.id, data: { list: Array.from({ length: 1_000 }, () => 1) } });
    expect((await a.nextError()).code).toBe('bad-message');
    expect(await b.drain()).toEqual([]);
  });

  it(`refuses data nested deeper than ${maxDataDepth} levels as bad input, not an internal error, and counts a strike for it`, async () => {
    const logs: string[] = [];
    const [a, b] = await pair({ maxFloodStrikes: 3, log: (line) => logs.push(line) });
    // Written by hand: JSON.stringify itself cannot serialise what it could not re-serialise.
    const deepFrame = `{"type":"signal","to":"${b.id}","data":{"deep":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`;
    for (let i = 0; i < 3; i++) {
      a.send(deepFrame);
      expect(await a.nextError()).toMatchObject({ code: 'bad-message', message: expect.stringMatching(new RegExp(`nested at most ${maxDataDepth} levels`)) });
    }
    // A signal that fits is still relayed between refusals...
    a.send({ type: 'signal', to: b.id, data: { shallow: { a: [1, { b: 2 }] } } });
    expect(await b.next()).toEqual({ type: 'signal', from: a.id, data: { shallow: { a: [1, { b: 2 }] } } });
    // ...and the fourth strike closes the sender.
    a.send(deepFrame);
    expect((await a.closed).code).toBe(1008);
    expect(running?.server.stats()).toMatchObject({ internalErrors: 0, closedForFlooding: 1 });
    expect(running?.server.stats().refusals['bad-message']).toBe(4);
    expect(logs.filter((line) => line.includes('internal error'))).toEqual([]);
  });
});

describe('withinDataBounds', () => {
  it('counts object keys and array items together, and levels from the top object', () => {
    expect(withinDataBounds({ a: 1, b: [1, 2] }, 4, 2)).toBe(true);
    expect(withinDataBounds({ a: 1, b: [1, 2] }, 3, 2)).toBe(false);
    expect(withinDataBounds({ a: { b: { c: 1 } } }, 10, 3)).toBe(true);
    expect(withinDataBounds({ a: { b: { c: {} } } }, 10, 3)).toBe(false);
    expect(withinDataBounds({}, 0, 1)).toBe(true);
  });
});
