// Dead sockets and idle connections, with a heartbeat short enough for a unit test. Waits are
// on events (pings seen, frames, closes), never on fixed sleeps. Server and clients share one
// event loop here, so the interval stays well above a loaded machine's scheduling stalls: a
// live client must get its pong in before the next tick.
import { afterEach, describe, expect, it } from 'vitest';
import { heartbeatIntervalMs } from '../../signaling/limits.ts';
import { startServer, TestClient, waitDeadlineMs, type Running } from './helpers.ts';

let running: Running | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await running?.server.close();
  running = undefined;
});

/** Resolves once the client has seen `count` more server pings. */
function pings(client: TestClient, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => reject(new Error(`only ${seen} of ${count} pings within ${waitDeadlineMs} ms`)), waitDeadlineMs);
    const onPing = () => {
      if (++seen < count) return;
      client.ws.off('ping', onPing);
      clearTimeout(timer);
      resolve();
    };
    client.ws.on('ping', onPing);
  });
}

describe('heartbeats', () => {
  it('the default interval drops a dead socket within 30 s', () => {
    // Missed ping at tick n, dropped at tick n+1: at most two intervals after it went silent.
    expect(2 * heartbeatIntervalMs).toBeLessThanOrEqual(30_000);
  });

  it('drops a socket that stops answering pings and tells its room; live sockets stay', async () => {
    running = await startServer({ heartbeatIntervalMs: 100 });
    const live = await TestClient.connect(running.wsUrl);
    const dead = await TestClient.connect(running.wsUrl, { autoPong: false });
    clients.push(live, dead);
    await live.join('r');
    await dead.join('r');
    await live.announced({ joined: [dead.id] });

    await live.announced({ left: [dead.id] });
    expect((await dead.closed).code).toBe(1006);
    expect(running.server.stats()).toMatchObject({ deadSocketsDropped: 1, nodes: 1, connections: 1 });

    // The answering socket survives many more rounds.
    await pings(live, 3);
    expect(live.ws.readyState).toBe(live.ws.OPEN);
    expect(await live.drain()).toEqual([]);
  });

  it('closes a connection that never joins, and only that one', async () => {
    running = await startServer({ heartbeatIntervalMs: 100, joinDeadlineMs: 300 });
    const idle = await TestClient.connect(running.wsUrl);
    const member = await TestClient.connect(running.wsUrl);
    clients.push(idle, member);
    await member.join('r');
    const { code, reason } = await idle.closed;
    expect(code).toBe(1008);
    expect(reason).toContain('no join');
    await pings(member, 3);
    expect(member.ws.readyState).toBe(member.ws.OPEN);
    expect(running.server.stats().closedForNoJoin).toBe(1);
  });
});
