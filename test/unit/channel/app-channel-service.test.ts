// The channel service between two nodes wired back to back: commands checked with codes, whole
// messages posted to the app as 'channel' events (bytes transferred, not copied), sends resolved
// once acknowledged, and bad input charged to the sender in the node's abuse guard.
import { describe, expect, test } from 'vitest';
import { AppChannelService, type ChannelEventPayload } from '../../../src/worker/services/app-channel.ts';
import type { NodeId } from '../../../src/core/types.ts';
import type { ServiceContext } from '../../../src/worker/service.ts';
import { fakeServiceContext } from '../fake-service-context.ts';

const idA = `${'A'.repeat(42)}A` as NodeId;
const idB = `${'B'.repeat(42)}A` as NodeId;

async function pair() {
  let now = 1_000;
  const events: Record<string, Array<{ payload: ChannelEventPayload; transfer: Transferable[] }>> = { [idA]: [], [idB]: [] };
  const misbehaved: Array<{ at: NodeId; peer: NodeId; why: string }> = [];
  const services = new Map<NodeId, AppChannelService>();
  const members = [
    { id: idA, status: 'alive' as const },
    { id: idB, status: 'alive' as const },
  ];
  const contextFor = (self: NodeId): ServiceContext =>
    fakeServiceContext(() => now, self === idA ? 1 : 2, {
      self,
      // Delivered on a later turn, as a link would.
      sendTo: (to, message) => void queueMicrotask(() => services.get(to)?.receive(self, structuredClone(message))),
      publishEvent: (name, payload, transfer) => {
        expect(name).toBe('channel');
        events[self]!.push({ payload: payload as ChannelEventPayload, transfer: transfer ?? [] });
      },
      misbehaved: (peer, why) => misbehaved.push({ at: self, peer, why }),
    });
  for (const id of [idA, idB]) {
    const service = new AppChannelService({ members: () => members });
    await service.start(contextFor(id));
    services.set(id, service);
  }
  const command = (id: NodeId, name: keyof AppChannelService['commands'], ...args: unknown[]) => services.get(id)!.commands[name](args);
  return { services, events, misbehaved, command, advance: (ms: number) => (now += ms) };
}

describe('the channel service', () => {
  test('a JSON message and a binary one reach the other node as app events; the sends resolve', async () => {
    const { events, command } = await pair();
    await expect(command(idA, 'channelSend', 'chat', { text: 'hi' }, { to: idB })).resolves.toEqual({ delivered: 1, failed: 0 });
    const bytes = new Uint8Array(100_000).map((_, i) => i % 251);
    await expect(command(idA, 'channelSend', 'files', bytes)).resolves.toEqual({ delivered: 1, failed: 0 });
    const got = events[idB]!;
    expect(got[0]!.payload).toEqual({ channel: 'chat', from: idA, data: { text: 'hi' }, binary: false });
    expect(got[1]!.payload).toMatchObject({ channel: 'files', from: idA, binary: true });
    expect(got[1]!.payload.data).toEqual(bytes);
    // The bytes move to the page rather than being copied.
    expect(got[1]!.transfer).toEqual([(got[1]!.payload.data as Uint8Array).buffer]);
  });

  test.each([
    ['channel-bad-name', ['', 'x']],
    ['channel-bad-name', ['a b', 'x']],
    ['channel-bad-target', ['chat', 'x', { to: 'not-a-node' }]],
    ['channel-bad-target', ['chat', 'x', { to: idA }]],
    ['channel-bad-data', ['chat', undefined]],
    ['channel-bad-data', ['chat', { big: 10n }]],
    ['channel-too-large', ['chat', new Uint8Array(16 * 1024 * 1024 + 1)]],
    ['channel-bad-argument', ['chat', 'x', { sendId: 'has spaces' }]],
  ])('refuses with %s (case %#)', async (code, args) => {
    const { command } = await pair();
    expect(() => command(idA, 'channelSend', ...args)).toThrow(expect.objectContaining({ code }));
  });

  test('a validator refusal reported by the page is counted and charged to the sender', async () => {
    const { services, misbehaved, command } = await pair();
    command(idB, 'channelInvalid', 'chat', idA);
    expect(services.get(idB)!.view().counters.invalid).toEqual({ chat: 1 });
    expect(misbehaved).toEqual([{ at: idB, peer: idA, why: "failed the app's validator" }]);
  });

  test('a malformed frame is dropped and charged to the peer that sent it', async () => {
    const { services, events, misbehaved } = await pair();
    services.get(idB)!.receive(idA, { t: 'c', id: 'x.1', ch: 'chat', seq: 0, n: 1, size: 1, enc: 'b', d: 'not base64!' });
    expect(events[idB]).toEqual([]);
    expect(misbehaved).toEqual([{ at: idB, peer: idA, why: 'chunk data is not base64 of the expected length' }]);
  });

  test('a cancelled send rejects with channel-aborted', async () => {
    const { command } = await pair();
    const sending = command(idA, 'channelSend', 'files', new Uint8Array(4 * 1024 * 1024), { to: idB, sendId: 'big-1' }) as Promise<unknown>;
    expect(command(idA, 'channelCancel', 'big-1')).toBe(true);
    await expect(sending).rejects.toMatchObject({ code: 'channel-aborted' });
  });
});
