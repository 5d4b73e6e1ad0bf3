// The arguments of the channel commands, checked as they come from the page (or a Node
// embedder): each refusal is a CommandError whose code the app API turns into a typed error.
import { nodeIdPattern } from '../../core/ids.ts';
import { channelNamePattern, maxChannelMessageBytes } from '../../core/channel/limits.ts';
import type { ChannelEncoding } from '../../core/channel/messages.ts';
import type { NodeId } from '../../core/types.ts';
import { CommandError } from '../command-error.ts';

/** Send ids the page chooses (to cancel a send): short text. */
const sendIdPattern = /^[A-Za-z0-9_.-]{1,64}$/;

export function checkChannelName(raw: unknown): string {
  if (typeof raw !== 'string' || !channelNamePattern.test(raw)) {
    throw new CommandError('channel-bad-name', 'a channel name is 1–64 letters, digits and -_.:/ starting with a letter or digit');
  }
  return raw;
}

export function checkSendId(raw: unknown): string {
  if (typeof raw !== 'string' || !sendIdPattern.test(raw)) throw new CommandError('channel-bad-argument', 'a send id is 1–64 letters, digits and -_.');
  return raw;
}

export function checkNodeId(raw: unknown, self: NodeId, what: string): NodeId {
  if (typeof raw !== 'string' || !nodeIdPattern.test(raw))
    throw new CommandError('channel-bad-target', `${what} must be a node id (43 characters of base64url), as in room.id or a message's sender`);
  if (raw === self) throw new CommandError('channel-bad-target', `${what} is this node itself; send to another node, or leave it out for everyone`);
  return raw as NodeId;
}

const encoder = new TextEncoder();

/** A message as bytes on the wire: a Uint8Array or ArrayBuffer as it is, anything else as JSON text. */
export function encodeChannelData(data: unknown): { enc: ChannelEncoding; bytes: Uint8Array } {
  let bytes: Uint8Array;
  let enc: ChannelEncoding = 'b';
  if (data instanceof Uint8Array) bytes = data;
  else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else {
    let text: string | undefined;
    try {
      text = JSON.stringify(data);
    } catch (error) {
      throw new CommandError(
        'channel-bad-data',
        `the message has no JSON form (${error instanceof Error ? error.message : String(error)}); send JSON values or a Uint8Array`,
      );
    }
    if (text === undefined)
      throw new CommandError('channel-bad-data', 'the message has no JSON form (undefined, a function or a symbol); send JSON values or a Uint8Array');
    bytes = encoder.encode(text);
    enc = 'j';
  }
  if (bytes.length > maxChannelMessageBytes)
    throw new CommandError('channel-too-large', `the message is ${bytes.length} bytes; a channel carries at most ${maxChannelMessageBytes} (16 MiB)`);
  return { enc, bytes };
}
