// A Node peer reads the server's /config.json as a page does: its ICE servers and its transport
// policy, over a real HTTP server on loopback; what is wrong in the answer is refused with a reason.
import { afterEach, describe, expect, test } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchIceServers } from '../../src/node/ice-servers.ts';

let server: Server | null = null;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

/** Serves `body` (status 200) or the given status at /config.json; resolves with its URL. */
async function serve(status: number, body: string): Promise<string> {
  server = createServer((_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(body);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/config.json`;
}

describe('fetchIceServers', () => {
  test("takes the server's servers and its relay policy", async () => {
    const iceServers = [{ urls: 'turn:127.0.0.1:3478', username: '1796569687:n', credential: 'x' }];
    const url = await serve(200, JSON.stringify({ iceServers, iceTransportPolicy: 'relay' }));
    expect(await fetchIceServers(url)).toEqual({ ok: true, servers: iceServers, policy: 'relay' });
  });

  test("without a policy in the answer, or without /config.json at all (an older server), the policy is 'all'", async () => {
    expect(await fetchIceServers(await serve(200, JSON.stringify({ iceServers: [] })))).toEqual({ ok: true, servers: [], policy: 'all' });
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    expect(await fetchIceServers(await serve(404, 'not found'))).toEqual({ ok: true, servers: [], policy: 'all' });
  });

  test('a policy the browser would not accept is refused with the reason, not guessed', async () => {
    const answer = await fetchIceServers(await serve(200, JSON.stringify({ iceServers: [], iceTransportPolicy: 'turn-only' })));
    expect(answer).toMatchObject({ ok: false, retry: false, error: expect.stringMatching(/ignoring the ICE servers from .*'all' or 'relay'/) });
  });
});
