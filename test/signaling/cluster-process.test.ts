// Three real server processes (signaling/main.ts --redis) over a real redis-server: one is
// killed with SIGKILL; a node of it that comes back through another server takes its id over
// (never announced as left), the one that does not is announced as left within the member TTL,
// and new nodes keep joining the two that remain. Prints the figures it saw (not asserted).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestClient, joinFrame, newIdentity, nextMatching } from './helpers.ts';
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

    // A second node on C that will not come back.
    const gone = await joinOn(c.wsUrl, 'lobby');
    await waitUntil('a hears of the second node on c', () => heard(na.client, { joined: [gone.self] }));

    const killedAt = performance.now();
    c.process.kill();
    await c.process.exited;
    // C's first node comes straight back through A, as its failover list would take it: refused
    // as a duplicate while C may still be alive, taken over once C has missed two heartbeats.
    const identity = nc.client.identity ?? undefined;
    let back: TestClient | null = null;
    for (let attempt = 0; attempt < 60 && back === null; attempt++) {
      const candidate = await TestClient.connect(a.wsUrl);
      clients.push(candidate);
      candidate.send(joinFrame(candidate.challenge, 'lobby', identity ?? newIdentity()));
      const answer = await candidate.next('joined or a refusal');
      if (answer.type === 'joined') back = candidate;
      else {
        expect(answer).toMatchObject({ type: 'error', code: 'duplicate-id' });
        await candidate.closed;
        await new Promise((r) => setTimeout(r, 250)); // the client's retry backoff, bounded by the loop
      }
    }
    expect(back, 'the node of the dead server got back in through another').not.toBeNull();
    const movedAfterMs = performance.now() - killedAt;
    // The node that did not come back is announced as left; the one that moved never is.
    await waitUntil("a and b hear that c's other node left", () => heard(na.client, { left: [gone.self] }) && heard(nb.client, { left: [gone.self] }));
    const leftAfterMs = performance.now() - killedAt;
    expect(heard(na.client, { left: [nc.self] })).toBe(false);
    expect(heard(nb.client, { left: [nc.self] })).toBe(false);

    // The two that remain go on: a new node on B is introduced to the room's live nodes only.
    const late = await joinOn(b.wsUrl, 'lobby');
    expect(new Set(late.peers)).toEqual(new Set([na.self, nb.self, nc.self]));
    await waitUntil('a hears of the late node', () => heard(na.client, { joined: [late.self] }));
    // Signals reach the moved node on its new server.
    late.client.send({ type: 'signal', to: nc.self, data: { hello: 'moved' } });
    expect(await nextMatching(back as TestClient, (f) => f.type === 'signal')).toEqual({ type: 'signal', from: late.self, data: { hello: 'moved' } });
    await waitUntil('/healthz lists the two members left', async () => (await clusterSize(a.httpUrl)) === 2);
    console.log(
      JSON.stringify({
        figure: 'cluster-processes',
        joinAcrossProcessesMs: Math.round(joinMs * 10) / 10,
        nodeMovedToAnotherServerAfterMs: Math.round(movedAfterMs),
        deadNodesAnnouncedLeftAfterMs: Math.round(leftAfterMs),
      }),
    );
  }, 60_000);
});
