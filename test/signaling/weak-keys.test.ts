// Issue 19, finding 6, at the signaling server: a join may not claim a small-order or
// non-canonical Ed25519 key as its id, even with a "signature" that such a key verifies.
import { describe, expect, it } from 'vitest';
import { serverPerTest, TestClient, type Running } from './helpers.ts';
import { forgedSignature, nonCanonicalKeysHex, smallOrderKeysHex, toId } from '../unit/weak-keys.ts';

const { clients, start } = serverPerTest();
let running: Running | undefined;

describe('weak keys as ids', () => {
  it('refuses joins as each of the 8 small-order points and as y ≥ p encodings, with a reason', async () => {
    running = await start({ maxFloodStrikes: 1_000 });
    const client = await TestClient.connect(running.wsUrl);
    clients.push(client);
    for (const hex of [...smallOrderKeysHex, ...nonCanonicalKeysHex]) {
      client.send({ type: 'join', room: 'lobby', id: toId(hex), sig: forgedSignature });
      const answer = await client.next('an answer to the join');
      expect(answer, hex).toMatchObject({ type: 'error', code: 'bad-message', message: expect.stringMatching(/id: .*(small-order|non-canonical)/) });
    }
    expect(running.server.stats()).toMatchObject({ nodes: 0, rooms: 0 });
    expect(running.server.stats().refusals['bad-message']).toBe(smallOrderKeysHex.length + nonCanonicalKeysHex.length);
  });
});
