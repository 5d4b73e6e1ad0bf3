// Issue 19, finding 7: error frames never echo unbounded input back, and join/leave churn in a
// room reaches its members as a few batched frames, not one frame per change per member.
import { describe, expect, it } from 'vitest';
import { maxEchoChars } from '../../src/core/decode.ts';
import { joinFrame, joinMany, newIdentity, serverPerTest, TestClient, type Running } from './helpers.ts';

const { clients, start } = serverPerTest();
let running: Running | undefined;

describe('error frames', () => {
  it('quote at most a short piece of an unknown key, an unknown type or an origin', async () => {
    running = await start({ allowedOrigins: ['http://allowed.example'] });
    const client = await TestClient.connect(running.wsUrl);
    clients.push(client);
    const key = 'K'.repeat(60_000);
    client.send(`{"type":"leave","${key}":1}`);
    const unknownKey = await client.nextError();
    expect(unknownKey.code).toBe('bad-message');
    expect(unknownKey.message).toContain('K'.repeat(maxEchoChars));
    expect(unknownKey.message).toContain('(60000 characters)');
    expect(unknownKey.message.length).toBeLessThan(400);

    client.send({ type: 'T'.repeat(30_000) });
    const unknownType = await client.nextError();
    expect(unknownType.message.length).toBeLessThan(400);

    const origin = `http://${'o'.repeat(8_000)}.example`;
    const refused = await TestClient.open(running.wsUrl, { origin });
    clients.push(refused);
    const originError = await refused.nextError();
    expect(originError.code).toBe('origin-refused');
    expect(originError.message.length).toBeLessThan(400);
  });
});

describe('announcements', () => {
  it('batch a burst of 20 joins and 20 leaves into a few frames per member, and every change arrives', async () => {
    running = await start();
    const [watcher] = (await joinMany(running.wsUrl, 'busy', 1)) as [TestClient];
    clients.push(watcher);
    // 20 sockets ready, from 4 addresses (each address holds at most its share of a room).
    const churners: TestClient[] = [];
    for (let i = 0; i < 20; i++) churners.push(await TestClient.connect(running.wsUrl, { localAddress: `127.0.1.${1 + (i % 4)}` }));
    clients.push(...churners);
    // All joins at once, then all leaves at once.
    const identities = churners.map(() => newIdentity());
    churners.forEach((c, i) => c.send(joinFrame(c.challenge, 'busy', identities[i]!)));
    for (const c of churners) expect((await c.next('joined')).type).toBe('joined');
    const ids = identities.map((identity) => identity.id);
    await watcher.announced({ joined: ids });
    for (const c of churners) c.send({ type: 'leave' });
    await watcher.announced({ left: ids });

    // 40 changes; one frame each would be 40. Batched, a handful (one per 100 ms window).
    expect(watcher.announcements.length).toBeLessThanOrEqual(10);
    const stats = running.server.stats();
    expect(stats.nodes).toBe(1);
    // Every frame sent anywhere was counted: far fewer than the 40 + 19·20/2 one-by-one sends.
    expect(stats.announcementFrames).toBeLessThan(100);
  });
});
