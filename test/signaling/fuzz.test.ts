// Seeded random frames from a joined and an unjoined connection: the server answers every one
// within the protocol, never throws in a handler, and a bystander in the same room keeps working.
// SEED=<n> replays a run; LONG=1 sends ten times as many frames.
import { afterEach, expect, it } from 'vitest';
import fc from 'fast-check';
import { startServer, TestClient, type Running } from './helpers.ts';

let running: Running | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await running?.server.close();
});

const base64urlChars = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];
/** Generous: a loaded machine runs 500 frames through a real server slowly; the test is about answers, not speed. */
const fuzzTestTimeoutMs = 120_000;

function frames(peerIds: string[]): fc.Arbitrary<string | Uint8Array> {
  const idLike = fc.oneof(fc.constantFrom(...peerIds), fc.string({ minLength: 43, maxLength: 43 }), fc.string());
  const shaped = fc
    .record(
      {
        type: fc.constantFrom('join', 'signal', 'welcome', 'joined', 'Signal', ''),
        room: fc.oneof(fc.constant('fuzz'), fc.string()),
        id: idLike,
        to: idLike,
        from: idLike,
        sig: fc.oneof(fc.string({ minLength: 86, maxLength: 86 }), fc.anything()),
        data: fc.oneof(fc.object(), fc.anything()),
        // Private rooms: well-formed and malformed password verifiers on joins.
        verifier: fc.oneof(
          fc.string({ unit: fc.constantFrom(...base64urlChars), minLength: 43, maxLength: 43 }),
          fc.string({ minLength: 43, maxLength: 43 }),
          fc.integer(),
          fc.constant(null),
        ),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o) ?? 'null');
  return fc.oneof(shaped, fc.json(), fc.string({ unit: 'binary' }), fc.uint8Array({ maxLength: 64 }));
}

it(
  'survives random frames without a crash, a broken frame or a disturbed neighbour',
  async () => {
    const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
    const count = process.env.LONG ? 5_000 : 500;
    try {
      running = await startServer({ rateLimitPerS: 1e6, rateLimitBurst: 1e6, maxFloodStrikes: 1e6 });
      const [joined, bystander, partner, unjoined] = (await Promise.all([0, 1, 2, 3].map(() => TestClient.connect((running as Running).wsUrl)))) as [
        TestClient,
        TestClient,
        TestClient,
        TestClient,
      ];
      clients.push(joined, bystander, partner, unjoined);
      await joined.join('fuzz');
      await bystander.join('fuzz');
      await partner.join('fuzz');

      const sample = fc.sample(frames([bystander.id, partner.id, joined.id]), { seed, numRuns: count });
      for (const frame of sample) {
        for (const c of [joined, unjoined]) {
          if (c.ws.readyState !== c.ws.OPEN) continue;
          if (typeof frame === 'string') c.ws.send(frame);
          else c.ws.send(frame, { binary: true });
        }
      }
      // Every answer the fuzzers got decodes under the protocol (helpers.ts checks each frame).
      if (joined.ws.readyState === joined.ws.OPEN) await joined.drain();
      if (unjoined.ws.readyState === unjoined.ws.OPEN) await unjoined.drain();

      await bystander.drain();
      bystander.send({ type: 'signal', to: partner.id, data: { after: 'fuzz' } });
      for (;;) {
        const frame = await partner.next();
        if (frame.type === 'signal' && frame.from === bystander.id) {
          expect(frame.data).toEqual({ after: 'fuzz' });
          break;
        }
      }
      const stats = running.server.stats();
      expect(stats.internalErrors).toBe(0);
      expect(Object.values(stats.refusals).reduce((a, b) => a + b, 0)).toBeGreaterThan(count / 2);
      const health = await fetch(`${running.httpUrl}/healthz`);
      expect(health.status).toBe(200);
    } catch (err) {
      console.error(`SEED=${seed} npx vitest run --project unit test/signaling/fuzz.test.ts`);
      throw err;
    }
  },
  fuzzTestTimeoutMs,
);
