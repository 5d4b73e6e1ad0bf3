// room.channel() over a node (a FakeBackend plays it): the room's channel is createChannel on the
// room's fenced backend, so the node's channel refusals arrive as ChannelErrors with their code,
// and leaving the room closes the channel.
import { describe, expect, it } from 'vitest';
import { RoomImpl } from '../../../src/api/room.ts';
import { ChannelError } from '../../../src/api/channel.ts';
import { RoomClosedError } from '../../../src/api/errors.ts';
import { FakeBackend, nodeId } from './fake-backend.ts';

const self = nodeId(0);
const peer = nodeId(1);

describe('room.channel', () => {
  it('delivers the channel event to the listener and sends through the node', async () => {
    const backend = new FakeBackend();
    const room = new RoomImpl(backend, self, 'r');
    const chat = room.channel<{ text: string }>('chat');
    const got: unknown[] = [];
    chat.on((message, from) => got.push([message, from]));
    backend.publishEvent('channel', { channel: 'chat', from: peer, data: { text: 'hi' }, binary: false });
    expect(got).toEqual([[{ text: 'hi' }, peer]]);
    backend.answer = (name) => (name === 'channelSend' ? { delivered: 1, failed: 0 } : true);
    await chat.send({ text: 'back' }, { to: peer });
    expect(backend.commands.at(-1)).toMatchObject({ name: 'channelSend', args: ['chat', { text: 'back' }, { to: peer }] });
  });

  it("the node's channel refusal comes back as a ChannelError with its code", async () => {
    const backend = new FakeBackend();
    const room = new RoomImpl(backend, self, 'r');
    backend.answer = (name) => {
      if (name === 'channelSend') throw Object.assign(new Error('the receiver refuses this node for now'), { code: 'channel-throttled' });
      return true;
    };
    const error = await room
      .channel('chat')
      .send('x', { to: peer })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({ code: 'channel-throttled', message: 'the receiver refuses this node for now' });
  });

  it('a bad name throws a ChannelError at once', () => {
    const room = new RoomImpl(new FakeBackend(), self, 'r');
    expect(() => room.channel('no spaces please')).toThrow(expect.objectContaining({ name: 'ChannelError', code: 'channel-bad-name' }));
  });

  it('after leave: no more messages, sends and new channels refused with RoomClosedError', async () => {
    const backend = new FakeBackend();
    const room = new RoomImpl(backend, self, 'r');
    const chat = room.channel('chat');
    const got: unknown[] = [];
    chat.on((message) => got.push(message));
    await room.leave();
    backend.publishEvent('channel', { channel: 'chat', from: peer, data: 'late', binary: false });
    expect(got).toEqual([]);
    await expect(chat.send('x')).rejects.toMatchObject({ code: 'channel-closed' });
    expect(() => room.channel('chat')).toThrow(RoomClosedError);
  });
});
