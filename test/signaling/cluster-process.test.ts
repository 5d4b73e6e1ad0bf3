// Three real server processes (signaling/main.ts --redis) over a real redis-server: one is
// killed with SIGKILL, and its nodes are announced as left on the others within the member TTL,
// while new nodes keep joining the two that remain. Prints the figures it saw (not asserted).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestClient, nextMatching } from './helpers.ts';
import { runServer, type ServerProcess } from './server-process.ts';
import { startRedis, type TestRedis } from './redis-server.ts';
import { heard, waitUntil } from './cluster-helpers.ts';

let redis: TestRedis;
let dir: string;
const servers: ServerProcess[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'tabmesh-cluster-'));
}, 30_000);
afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of servers) s.kill();
  await Promise.all(servers.map((s) => s.exited));
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function startMember(): Promise<{ process: ServerProcess; wsUrl: string; httpUrl: string }> {
  const process = runServer(['--port', '0', '--host', '127.0.0.1', '--no-tls', '--static', join(dir, 'no-app'), '--data-dir', dir, '--redis', redis.url]);
  servers.push(process);
  const [, port] = await process.waitFor(/^ {2}http:\/\/127\.0\.0\.1:(\d+)\/$/m);
  await process.waitFor(/Press Ctrl\+C/);
  return { process, wsUrl: `ws://127.0.0.1:${port}/signal`, httpUrl: `http://127.0.0.1:${port}` };
}

async function joinOn(wsUrl: string, room: string): Promise<{ client: TestClient; self: string; peers: string[] }> {
  const client = await TestClient.connect(wsUrl);
  clients.push(client);
  return { client, ...(await client.join(room)) };
}

async function clusterSize(httpUrl: string): Promise<number> {
  const health = (await (await fetch(`${httpUrl}/healthz`)).json()) as { cluster?: { members: unknown[] } };
  return health.cluster?.members.length ?? 0;
}

describe('three signaling processes over Redis', () => {
  it('survive losing one: its nodes are announced as left, and new nodes join the others', async () => {
    const [a, b, c] = [await startMember(), await startMember(), await startMember()];
    await waitUntil('every process sees three members', async () => (await Promise.all([a, b, c].map((m) => clusterSize(m.httpUrl)))).every((n) => n === 3));

    const na = await joinOn(a.wsUrl, 'lobby');
    const joinStarted = performance.now();
    const nb = await joinOn(b.wsUrl, 'lobby');
    const joinMs = performance.now() - joinStarted;
    expect(nb.peers).toEqual([na.self]);
    const nc = await joinOn(c.wsUrl, 'lobby');
    expect(new Set(nc.peers)).toEqual(new Set([na.self, nb.self]));
    await waitUntil('a hears of b and c', () => heard(na.client, { joined: [nb.self, nc.self] }));
    nb.client.send({ type: 'signal', to: nc.self, data: { hello: 'c' } });
    expect(await nextMatching(nc.client, (f) => f.type === 'signal')).toEqual({ type: 'signal', from: nb.self, data: { hello: 'c' } });

    const killedAt = performance.now();
    c.process.kill();
    await c.process.exited;
    await waitUntil("a and b hear that c's node left", () => heard(na.client, { left: [nc.self] }) && heard(nb.client, { left: [nc.self] }));
    const leftAfterMs = performance.now() - killedAt;

    // The two that remain go on: a new node on B is introduced to A's and B's nodes only.
    const late = await joinOn(b.wsUrl, 'lobby');
    expect(new Set(late.peers)).toEqual(new Set([na.self, nb.self]));
    await waitUntil('a hears of the late node', () => heard(na.client, { joined: [late.self] }));
    // The killed node comes back through another process (what the failover list does).
    const back = await TestClient.connect(a.wsUrl);
    clients.push(back);
    const rejoined = await back.join('lobby', nc.client.identity ?? undefined);
    expect(rejoined.self).toBe(nc.self);
    await waitUntil('/healthz lists the two members left', async () => (await clusterSize(a.httpUrl)) === 2);
    console.log(JSON.stringify({ figure: 'cluster-processes', joinAcrossProcessesMs: Math.round(joinMs * 10) / 10, deadNodesAnnouncedLeftAfterMs: Math.round(leftAfterMs) }));
  }, 60_000);
});
