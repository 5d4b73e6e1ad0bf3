// Three signaling servers in this process, one cluster over a real redis-server: nodes on
// different servers meet (samples, announcements, signals), the caps hold cluster-wide, a
// malformed bus message is dropped, and a restarted Redis is recovered from.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TestClient, joinFrame, newIdentity, nextMatching, startServer, type Running } from './helpers.ts';
import { startRedis, type TestRedis } from './redis-server.ts';
import { clusterOf, fastCluster, heard, startMembers, waitUntil } from './cluster-helpers.ts';
import { eventsChannel } from '../../signaling/cluster/scripts.ts';
import { WebSocket } from 'ws';
import { SignalingClient, type SignalingStatus, type SocketLike } from '../../src/net/signaling-client.ts';
import type { NodeId } from '../../src/core/types.ts';
import { freeTcpPort } from './redis-server.ts';

let redis: TestRedis;
let members: Running[] = [];
let clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await Promise.all(members.map((m) => m.server.close()));
  members = [];
  // Each test starts from an empty Redis.
  const admin = new Redis(redis.url);
  await admin.flushall();
  admin.disconnect();
});

async function joinOn(member: Running, room: string): Promise<{ client: TestClient; self: string; peers: string[] }> {
  const client = await TestClient.connect(member.wsUrl);
  clients.push(client);
  const joined = await client.join(room);
  return { client, ...joined };
}

describe('a signaling cluster over Redis', () => {
  it('introduces, announces and relays between nodes on different servers', async () => {
    members = await startMembers(redis.url, 3);
    const [a, b, c] = members as [Running, Running, Running];
    const na = await joinOn(a, 'lobby');
    const nb = await joinOn(b, 'lobby');
    // The sample comes from the whole room, not the server's own part of it.
    expect(nb.peers).toEqual([na.self]);
    const nc = await joinOn(c, 'lobby');
    expect(new Set(nc.peers)).toEqual(new Set([na.self, nb.self]));
    await waitUntil('a hears of b and c', () => heard(na.client, { joined: [nb.self, nc.self] }));
    await waitUntil('b hears of c', () => heard(nb.client, { joined: [nc.self] }));

    // A signal from A's node reaches C's node, stamped by the server with the real sender.
    na.client.send({ type: 'signal', to: nc.self, data: { sdp: 'offer from a' } });
    const got = await nextMatching(nc.client, (f) => f.type === 'signal');
    expect(got).toEqual({ type: 'signal', from: na.self, data: { sdp: 'offer from a' } });
    nc.client.send({ type: 'signal', to: na.self, data: { sdp: 'answer' } });
    expect(await nextMatching(na.client, (f) => f.type === 'signal')).toEqual({ type: 'signal', from: nc.self, data: { sdp: 'answer' } });

    // Nobody in the room has this id on any server: refused as before.
    na.client.send({ type: 'signal', to: newIdentity().id, data: { x: 1 } });
    expect((await na.client.nextError()).code).toBe('unknown-peer');
    // A node of another room on another server is just as unknown.
    const other = await joinOn(b, 'elsewhere');
    na.client.send({ type: 'signal', to: other.self, data: { x: 1 } });
    expect((await na.client.nextError()).code).toBe('unknown-peer');

    // A clean leave on C is announced on A and B.
    nc.client.send({ type: 'leave' });
    await waitUntil('a and b hear that c left', () => heard(na.client, { left: [nc.self] }) && heard(nb.client, { left: [nc.self] }));
  }, 30_000);

  it('keeps the room and per-address caps cluster-wide', async () => {
    members = await startMembers(redis.url, 3, { maxNodesPerRoom: 2, maxSeatsPerAddressPerRoom: 10 });
    const [a, b, c] = members as [Running, Running, Running];
    await joinOn(a, 'small');
    await joinOn(b, 'small');
    const third = await TestClient.connect(c.wsUrl);
    clients.push(third);
    third.send(joinFrame(third.challenge, 'small', newIdentity()));
    const refusal = await third.nextError();
    expect(refusal.code).toBe('room-full');
    expect(refusal.message).toContain('across the cluster');

    // One id, one connection, whichever server it comes through.
    const identity = newIdentity();
    const first = await TestClient.connect(a.wsUrl);
    clients.push(first);
    await first.join('ids', identity);
    const again = await TestClient.connect(b.wsUrl);
    clients.push(again);
    again.send(joinFrame(again.challenge, 'ids', identity));
    expect((await again.nextError()).code).toBe('duplicate-id');
  }, 30_000);

  it('caps the seats of one address in a room across the servers', async () => {
    members = await startMembers(redis.url, 3, { maxSeatsPerAddressPerRoom: 2 });
    const [a, b, c] = members as [Running, Running, Running];
    await joinOn(a, 'seats');
    await joinOn(b, 'seats');
    const third = await TestClient.connect(c.wsUrl);
    clients.push(third);
    third.send(joinFrame(third.challenge, 'seats', newIdentity()));
    const refusal = await third.nextError();
    expect(refusal.code).toBe('address-quota');
    expect(refusal.message).toContain('across the cluster');
  }, 30_000);
});

describe("a signaling cluster's health and bus", () => {
  it('shows the members and their load in /healthz', async () => {
    members = await startMembers(redis.url, 3);
    const [a, b] = members as [Running, Running, Running];
    await joinOn(b, 'lobby');
    await joinOn(b, 'lobby');
    await waitUntil('a sees b hold two nodes', async () => {
      const health = (await (await fetch(`${a.httpUrl}/healthz`)).json()) as {
        cluster?: { members: { address: string; nodes: number; connections: number; rooms: number; lastHeartbeat: string }[] };
      };
      const ofB = health.cluster?.members.find((m) => m.address.endsWith(`:${new URL(b.httpUrl).port}/`));
      return (
        health.cluster?.members.length === 3 && ofB?.nodes === 2 && ofB.connections === 2 && ofB.rooms === 1 && !Number.isNaN(Date.parse(ofB.lastHeartbeat))
      );
    });
  }, 30_000);

  it('counts and drops a malformed message on the bus', async () => {
    members = await startMembers(redis.url, 2);
    const [a, b] = members as [Running, Running];
    const intruder = new Redis(redis.url);
    try {
      await intruder.publish(eventsChannel, 'not json');
      await intruder.publish(
        eventsChannel,
        JSON.stringify({ t: 'changes', from: 'someone-else', changes: [{ key: 'lobby', id: 'not-an-id', kind: 'joined' }] }),
      );
      await intruder.publish(eventsChannel, JSON.stringify({ t: 'signal', key: 'lobby', from: 'x', to: 'y', data: [] }));
    } finally {
      intruder.disconnect();
    }
    await waitUntil('both members counted three', () => members.every((m) => clusterOf(m.server.stats()).malformedBusMessages === 3));
    expect(a.server.stats().internalErrors).toBe(0);
    // And the cluster still works.
    const na = await joinOn(a, 'lobby');
    const nb = await joinOn(b, 'lobby');
    expect(nb.peers).toEqual([na.self]);
  }, 30_000);
});

describe('a signaling cluster when a member or Redis goes', () => {
  it('announces the nodes of a member that closed, and recovers from a Redis restart', async () => {
    members = await startMembers(redis.url, 3);
    const [a, b, c] = members as [Running, Running, Running];
    const na = await joinOn(a, 'lobby');
    const nc = await joinOn(c, 'lobby');
    await c.server.close();
    members = [a, b];
    await waitUntil("a hears that c's node left", () => heard(na.client, { left: [nc.self] }));

    await redis.stop();
    // Redis away: local nodes are still served (a join on A meets A's own node).
    const local = await joinOn(a, 'lobby');
    expect(local.peers).toEqual([na.self]);
    await redis.start();
    // Both members re-registered their nodes: a join on B is introduced to A's nodes.
    await waitUntil('both members are back in the cluster', () =>
      [a, b].every((m) => clusterOf(m.server.stats()).connected && clusterOf(m.server.stats()).members.length === 2),
    );
    const nb = await joinOn(b, 'lobby');
    expect(new Set(nb.peers)).toEqual(new Set([na.self, local.self]));
    await waitUntil('a hears of the node on b', () => heard(na.client, { joined: [nb.self] }));
    nb.client.send({ type: 'signal', to: na.self, data: { after: 'restart' } });
    expect(await nextMatching(na.client, (f) => f.type === 'signal')).toEqual({ type: 'signal', from: nb.self, data: { after: 'restart' } });
    expect(clusterOf(a.server.stats()).reRegistrations).toBeGreaterThan(0);
  }, 40_000);

  it('a client given the list of servers fails over to the next when its server goes', async () => {
    members = await startMembers(redis.url, 3);
    const [a, b, c] = members as [Running, Running, Running];
    const watcher = await joinOn(c, 'lobby');
    // Nothing listens on the first URL: the client moves on to A at once.
    const nowhere = `ws://127.0.0.1:${await freeTcpPort()}/signal`;
    const identity = newIdentity();
    let status: SignalingStatus = 'connecting';
    const urlsTried: string[] = [];
    const client = new SignalingClient({
      url: [nowhere, a.wsUrl, b.wsUrl],
      room: 'lobby',
      id: identity.id as NodeId,
      sign: async (text) => identity.sign(text),
      createSocket: (url) => {
        urlsTried.push(url);
        return new WebSocket(url) as unknown as SocketLike;
      },
      handlers: { status: (s) => (status = s), joined: () => {}, peerJoined: () => {}, peerLeft: () => {}, signal: () => {}, problem: () => {} },
    });
    try {
      client.start();
      await waitUntil('the client joined through A', () => status === 'joined' && client.currentUrl === a.wsUrl);
      await waitUntil('C hears of it', () => heard(watcher.client, { joined: [identity.id] }));
      await a.server.close();
      members = [b, c];
      // Its server is gone: the client is back in the room through B, and C hears it leave and come back.
      await waitUntil('the client joined again through B', () => status === 'joined' && client.currentUrl === b.wsUrl);
      await waitUntil(
        'C hears it left and joined again',
        () => heard(watcher.client, { left: [identity.id] }) && watcher.client.announcements.filter((f) => f.joined.includes(identity.id)).length === 2,
      );
      expect(urlsTried).toEqual([nowhere, a.wsUrl, b.wsUrl]);
    } finally {
      client.stop();
    }
  }, 30_000);

  it('serves its own nodes when Redis cannot be reached, and says so once', async () => {
    const lines: string[] = [];
    const lonely = await startServer({ redisUrl: `redis://127.0.0.1:${await freeTcpPort()}`, ...fastCluster, log: (line) => lines.push(line) });
    members = [lonely];
    const first = await joinOn(lonely, 'lobby');
    const second = await joinOn(lonely, 'lobby');
    expect(second.peers).toEqual([first.self]);
    second.client.send({ type: 'signal', to: first.self, data: { local: true } });
    expect(await nextMatching(first.client, (f) => f.type === 'signal')).toEqual({ type: 'signal', from: second.self, data: { local: true } });
    const stats = clusterOf(lonely.server.stats());
    expect(stats.connected).toBe(false);
    expect(stats.redisErrors).toBeGreaterThan(0);
    await waitUntil('the outage is logged', () => lines.some((l) => l.includes('does not answer')));
    expect(lines.filter((l) => l.includes('does not answer'))).toHaveLength(1);
    expect(lonely.server.stats().internalErrors).toBe(0);
  }, 30_000);
});
