// Issue 19, finding 2: sockets that never read must not pin server memory. Only a pong that
// carries back the server's own ping nonce counts as alive, and a socket whose send buffer
// stays full is closed. Short intervals are injected; waits are on events, with deadlines.
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { joinMany, startServer, TestClient, type Running } from './helpers.ts';

let running: Running | undefined;
const clients: TestClient[] = [];
const timers: Array<ReturnType<typeof setInterval>> = [];
afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  for (const c of clients.splice(0)) c.ws.terminate();
  await running?.server.close();
  running = undefined;
});

describe('liveness', () => {
  it('drops a socket that answers no ping even though it sends pongs of its own', { timeout: 20_000 }, async () => {
    // Long enough for the live client to answer each ping on a loaded machine.
    running = await startServer({ heartbeatIntervalMs: 300 });
    const [live] = await joinMany(running.wsUrl, 'r', 1);
    const faker = await TestClient.connect(running.wsUrl, { autoPong: false });
    clients.push(live as TestClient, faker);
    await faker.join('r');
    // Unsolicited pongs, far more often than the server pings (bounded by the close below).
    timers.push(setInterval(() => faker.ws.readyState === faker.ws.OPEN && faker.ws.pong(Buffer.from('alive')), 20));

    expect((await faker.closed).code).toBe(1006);
    await (live as TestClient).announced({ left: [faker.id] });
    expect(running.server.stats().deadSocketsDropped).toBe(1);
    expect(running.server.stats().unsolicitedPongs).toBeGreaterThan(0);
    // The live socket, answering with the nonce, stays.
    expect((live as TestClient).ws.readyState).toBe((live as TestClient).ws.OPEN);
    expect(await (live as TestClient).drain()).toEqual([]);
  });

  it('closes a socket whose reader stopped once its send buffer stays over the limit, and its room goes on', async () => {
    running = await startServer({
      maxSendBufferBytes: 32 * 1024,
      slowReaderCloseMs: 300,
      sendBufferCheckIntervalMs: 50,
      // The sender must be able to push faster than the kernel buffers absorb.
      rateLimitPerS: 10_000,
      rateLimitBurst: 10_000,
      rateLimitBytesPerS: 1e9,
      rateLimitBurstBytes: 1e9,
    });
    const [sender, stalled, bystander] = (await joinMany(running.wsUrl, 'r', 3)) as [TestClient, TestClient, TestClient];
    clients.push(sender, stalled, bystander);
    // The stalled client stops reading: its TCP window fills, then the server's buffer.
    (stalled.ws as unknown as { _socket: Socket })._socket.pause();

    const payload = 'p'.repeat(60 * 1024);
    let rounds = 0;
    // Push until the server starts dropping frames for it (bounded: 400 frames = 24 MB at most).
    while (running.server.stats().framesDroppedSlowReader === 0) {
      if (++rounds > 20) throw new Error('the server never held back frames for a reader that stopped');
      for (let i = 0; i < 20; i++) sender.send({ type: 'signal', to: stalled.id, data: { payload } });
      await sender.drain();
    }
    // (The stalled client cannot see its own close: it reads nothing, the FIN included.)
    await bystander.announced({ left: [stalled.id] });
    expect(running.server.stats()).toMatchObject({ closedSlowReader: 1, nodes: 2 });
    // The room works: signals still flow between the others.
    sender.send({ type: 'signal', to: bystander.id, data: { still: 'here' } });
    expect(await bystander.next()).toEqual({ type: 'signal', from: sender.id, data: { still: 'here' } });
  });
});
