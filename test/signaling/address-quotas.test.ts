// Issue 19, finding 1: one client address must not lock everyone else out. Several clients are
// simulated with distinct loopback source addresses (all of 127.0.0.0/8 is on lo), so the
// server sees them as different machines; the caps are the defaults.
import { describe, expect, it } from 'vitest';
import { closeCodes, maxConnectionsPerAddress, maxRoomsPerAddress, maxSeatsPerAddressPerRoom } from '../../signaling/limits.ts';
import { parseTrustedProxies } from '../../signaling/client-address.ts';
import { MemoryQuotaStore } from '../../signaling/address-limits.ts';
import { joinFrame, newIdentity, serverPerTest, TestClient, type Running } from './helpers.ts';

const attacker = { localAddress: '127.0.0.10' };
const bystander = { localAddress: '127.0.0.20' };

const { clients, start } = serverPerTest();
let running: Running | undefined;

async function connect(options: { localAddress: string; headers?: Record<string, string> }): Promise<TestClient> {
  if (!running) throw new Error('no server');
  const client = await TestClient.connect(running.wsUrl, options);
  clients.push(client);
  return client;
}

/** Sends a signed join and returns the server's answer (joined, or the refusal). */
async function tryJoin(client: TestClient, room: string) {
  client.identity = newIdentity();
  client.send(joinFrame(client.challenge, room, client.identity));
  return client.next('an answer to the join');
}

describe('per-address caps', () => {
  const caps = `${maxSeatsPerAddressPerRoom} seats in a room, ${maxRoomsPerAddress} rooms and ${maxConnectionsPerAddress} connections`;
  it(`one address gets ${caps}, refused with a reason beyond; others still join`, async () => {
    running = await start();

    // Seats: the attacker fills what it may of the default room, and no more.
    for (let i = 0; i < maxSeatsPerAddressPerRoom; i++) {
      expect(await tryJoin(await connect(attacker), 'lobby')).toMatchObject({ type: 'joined' });
    }
    const extraSeat = await connect(attacker);
    expect(await tryJoin(extraSeat, 'lobby')).toMatchObject({
      type: 'error',
      code: 'address-quota',
      message: expect.stringMatching(/places in room "lobby".*limit per address/),
    });
    expect((await extraSeat.closed).code).toBe(closeCodes.tryAgainLater);

    // Rooms: "lobby" was the first it opened; it may open the rest of its share, then no more.
    for (let i = 1; i < maxRoomsPerAddress; i++) {
      expect(await tryJoin(await connect(attacker), `squat-${i}`)).toMatchObject({ type: 'joined' });
    }
    const extraRoom = await connect(attacker);
    expect(await tryJoin(extraRoom, 'squat-last')).toMatchObject({
      type: 'error',
      code: 'address-quota',
      message: expect.stringMatching(/opened \d+ rooms.*limit per address/),
    });

    // Connections: whatever is left of its share opens; the next one is refused at once.
    while (running.server.stats().connections < maxConnectionsPerAddress) await connect(attacker);
    const extraConnection = await TestClient.open(running.wsUrl, attacker);
    clients.push(extraConnection);
    expect(await extraConnection.next()).toMatchObject({
      type: 'error',
      code: 'address-quota',
      message: expect.stringMatching(/connections to this server.*limit per address/),
    });
    expect((await extraConnection.closed).code).toBe(closeCodes.tryAgainLater);

    // Another address joins the attacker's room and opens its own, as if nothing happened.
    const other = await connect(bystander);
    const joined = await tryJoin(other, 'lobby');
    expect(joined).toMatchObject({ type: 'joined' });
    expect(joined.type === 'joined' && joined.peers.length).toBeGreaterThan(0);
    expect(await tryJoin(await connect(bystander), 'own-room')).toMatchObject({ type: 'joined', peers: [] });

    expect(running.server.stats()).toMatchObject({ clientAddresses: 2 });
    expect(running.server.stats().refusals['address-quota']).toBe(3);
  });

  it('gives the quota back as connections close, so the address can come back', async () => {
    running = await start({ maxConnectionsPerAddress: 2 });
    const first = await connect(attacker);
    await connect(attacker);
    const refused = await TestClient.open(running.wsUrl, attacker);
    clients.push(refused);
    expect(await refused.next()).toMatchObject({ type: 'error', code: 'address-quota' });
    first.close();
    await first.closed;
    await waitFor(() => running?.server.stats().connections === 1);
    expect(await tryJoin(await connect(attacker), 'back')).toMatchObject({ type: 'joined' });
  });

  it('behind a trusted proxy, counts the address in X-Forwarded-For; from anyone else, ignores it', async () => {
    const proxies = parseTrustedProxies('127.0.0.30');
    if (!proxies.ok) throw new Error(proxies.error);
    running = await start({ maxConnectionsPerAddress: 2, trustedProxies: proxies.value });
    const viaProxy = (client: string) => ({ localAddress: '127.0.0.30', headers: { 'X-Forwarded-For': `${client}, 127.0.0.30` } });
    await connect(viaProxy('198.51.100.7'));
    await connect(viaProxy('198.51.100.7'));
    const third = await TestClient.open(running.wsUrl, viaProxy('198.51.100.7'));
    clients.push(third);
    expect(await third.next()).toMatchObject({ type: 'error', code: 'address-quota' });
    // Another client behind the same proxy is another address.
    expect(await tryJoin(await connect(viaProxy('198.51.100.8')), 'r')).toMatchObject({ type: 'joined' });
    // A client that is not the proxy cannot pick its address with the header.
    await connect({ localAddress: '127.0.0.40', headers: { 'X-Forwarded-For': '198.51.100.9' } });
    await connect({ localAddress: '127.0.0.40', headers: { 'X-Forwarded-For': '198.51.100.10' } });
    const spoofer = await TestClient.open(running.wsUrl, { localAddress: '127.0.0.40', headers: { 'X-Forwarded-For': '198.51.100.11' } });
    clients.push(spoofer);
    expect(await spoofer.next()).toMatchObject({ type: 'error', code: 'address-quota' });
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('MemoryQuotaStore', () => {
  it('takes up to the cap per address and key, gives back, and forgets addresses holding nothing', () => {
    const store = new MemoryQuotaStore();
    expect([store.tryTake('a', 'rooms', 2), store.tryTake('a', 'rooms', 2), store.tryTake('a', 'rooms', 2)]).toEqual([true, true, false]);
    expect(store.tryTake('b', 'rooms', 2)).toBe(true);
    expect(store.tryTake('a', 'seat:r', 1)).toBe(true);
    expect(store.addresses()).toBe(2);
    store.release('a', 'rooms');
    store.release('a', 'rooms');
    store.release('a', 'rooms'); // one too many: stays at zero
    store.release('a', 'seat:r');
    expect(store.held('a', 'rooms')).toBe(0);
    expect(store.addresses()).toBe(1);
  });
});

describe('per-address budget of frames and bytes', () => {
  it("an address's connections share one budget, so more connections buy no more frames; another address is not slowed", async () => {
    // A connection may send 10 frames at once; the address, 2 connections' worth: 20 frames.
    running = await start({ rateLimitPerS: 1, rateLimitBurst: 10, addressBudgetConnections: 2 });
    const attackers = [await connect(attacker), await connect(attacker), await connect(attacker), await connect(attacker)];
    const frame = { type: 'signal', to: newIdentity().id, data: {} };
    for (const client of attackers) for (let i = 0; i < 10; i++) client.send(frame);
    const answers = await Promise.all(attackers.map(async (client) => Promise.all(Array.from({ length: 10 }, () => client.nextError()))));
    const byAddress = answers
      .flat()
      .filter((error) => error.code === 'rate-limited' && /your address sends more than 2 connections' worth/.test(error.message));
    // 40 frames against a budget of 20 (plus at most a token or two refilled meanwhile).
    expect(byAddress.length).toBeGreaterThanOrEqual(17);
    expect(byAddress.length).toBeLessThanOrEqual(20);

    const other = await connect(bystander);
    for (let i = 0; i < 10; i++) other.send(frame);
    const theirs = await Promise.all(Array.from({ length: 10 }, () => other.nextError()));
    expect(theirs.filter((error) => error.code === 'rate-limited')).toEqual([]);
  });
});
