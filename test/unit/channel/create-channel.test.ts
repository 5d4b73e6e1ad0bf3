// The page's createChannel over a fake NodeBackend: names and arguments checked with codes, the
// app's Standard Schema validator (valibot here) gatekeeping what reaches listeners, refusals
// counted and reported to the node, AbortSignal, and the node's refusal codes kept.
import { describe, expect, test } from 'vitest';
import * as v from 'valibot';
import { ChannelError, createChannel } from '../../../src/api/channel.ts';
import { FakeBackend } from '../api/fake-backend.ts';

const sender = `${'S'.repeat(42)}A`;

/** The API's FakeBackend answering commands with `reply`; `emit` delivers a channel event. */
function fakeBackend(reply: (name: string, args: unknown[]) => Promise<unknown> = async () => ({ delivered: 1, failed: 0 })) {
  const backend = new FakeBackend();
  backend.answer = reply;
  return { backend, commands: backend.commands, emit: (payload: unknown) => backend.publishEvent('channel', payload) };
}

describe('createChannel', () => {
  test('refuses a bad name and a validator that is not a Standard Schema, with codes', () => {
    const { backend } = fakeBackend();
    expect(() => createChannel(backend, 'has space')).toThrow(expect.objectContaining({ code: 'channel-bad-name' }));
    expect(() => createChannel(backend, '')).toThrow(ChannelError);
    expect(() => createChannel(backend, 'ok', { validate: {} as never })).toThrow(expect.objectContaining({ code: 'channel-bad-argument' }));
  });

  test('listeners get this channel’s messages only, with who sent them', () => {
    const { backend, emit } = fakeBackend();
    const chat = createChannel<{ text: string }>(backend, 'chat');
    const got: Array<[unknown, string]> = [];
    chat.on((message, from) => got.push([message, from]));
    emit({ channel: 'chat', from: sender, data: { text: 'hi' }, binary: false });
    emit({ channel: 'other', from: sender, data: { text: 'no' }, binary: false });
    emit({ channel: 'chat', from: sender, data: 'not bytes', binary: true });
    expect(got).toEqual([[{ text: 'hi' }, sender]]);
  });

  test('a message failing the validator never reaches a listener; it is counted and reported to the node', async () => {
    const { backend, emit, commands } = fakeBackend();
    const chat = createChannel(backend, 'chat', { validate: v.object({ text: v.pipe(v.string(), v.maxLength(10)) }) });
    const got: unknown[] = [];
    chat.on((message) => got.push(message));
    emit({ channel: 'chat', from: sender, data: { text: 'fine' }, binary: false });
    emit({ channel: 'chat', from: sender, data: { text: 'far too long for it' }, binary: false });
    emit({ channel: 'chat', from: sender, data: 42, binary: false });
    expect(got).toEqual([{ text: 'fine' }]);
    expect(chat.stats()).toMatchObject({ received: 1, invalid: 2 });
    expect(commands.filter((c) => c.name === 'channelInvalid')).toEqual([
      { name: 'channelInvalid', args: ['chat', sender] },
      { name: 'channelInvalid', args: ['chat', sender] },
    ]);
  });

  test('an asynchronous validator keeps the order messages arrived in', async () => {
    const { backend, emit } = fakeBackend();
    let delay = 3;
    const slowFirst = v.pipeAsync(
      v.number(),
      v.checkAsync(async () => {
        for (let i = delay--; i > 0; i--) await Promise.resolve();
        return true;
      }),
    );
    const numbers = createChannel(backend, 'n', { validate: slowFirst });
    const got: unknown[] = [];
    numbers.on((m) => got.push(m));
    for (const n of [1, 2, 3]) emit({ channel: 'n', from: sender, data: n, binary: false });
    const deadline = Date.now() + 2_000;
    while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(got).toEqual([1, 2, 3]);
  });

  test('send passes the data and target to the node, and turns its refusal into a ChannelError with its code', async () => {
    const { backend, commands } = fakeBackend(async (name) => {
      if (name === 'channelSend') throw Object.assign(new Error('refused'), { code: 'channel-throttled' });
      return true;
    });
    const files = createChannel<Uint8Array>(backend, 'files');
    const bytes = new Uint8Array([1, 2, 3]);
    await expect(files.send(bytes, { to: sender })).rejects.toMatchObject({ name: 'ChannelError', code: 'channel-throttled' });
    expect(commands[0]).toMatchObject({ name: 'channelSend', args: ['files', bytes, { to: sender, sendId: expect.any(String) }] });
  });

  test('send checks its arguments before asking the node', async () => {
    const { backend, commands } = fakeBackend();
    const chat = createChannel(backend, 'chat');
    await expect(chat.send(undefined as never)).rejects.toMatchObject({ code: 'channel-bad-data' });
    await expect(chat.send('x', { to: 5 as never })).rejects.toMatchObject({ code: 'channel-bad-target' });
    await expect(chat.send('x', { signal: 'no' as never })).rejects.toMatchObject({ code: 'channel-bad-argument' });
    await expect(chat.send(new Uint8Array(16 * 1024 * 1024 + 1))).rejects.toMatchObject({ code: 'channel-too-large' });
    expect(commands).toEqual([]);
  });

  test('an aborted send rejects with an AbortError and asks the node to stop it', async () => {
    const { backend, commands } = fakeBackend((name) => (name === 'channelSend' ? new Promise(() => {}) : Promise.resolve(true)));
    const chat = createChannel(backend, 'chat');
    const controller = new AbortController();
    const sending = chat.send('x', { signal: controller.signal });
    controller.abort();
    await expect(sending).rejects.toMatchObject({ name: 'AbortError', code: 'aborted' });
    const sendId = (commands[0]!.args[2] as { sendId: string }).sendId;
    expect(commands[1]).toEqual({ name: 'channelCancel', args: [sendId] });
  });

  test('after close, nothing is delivered and sends reject with channel-closed', async () => {
    const { backend, emit } = fakeBackend();
    const chat = createChannel(backend, 'chat');
    const got: unknown[] = [];
    chat.on((m) => got.push(m));
    chat.close();
    emit({ channel: 'chat', from: sender, data: 'late', binary: false });
    expect(got).toEqual([]);
    await expect(chat.send('x')).rejects.toMatchObject({ code: 'channel-closed' });
  });
});
