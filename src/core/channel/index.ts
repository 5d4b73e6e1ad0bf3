export { ChannelCore } from './core.ts';
export * from './limits.ts';
export type { ChannelEffect, ChannelEvent, ChannelInput, ChannelCounters, ChannelView, SendFailure } from './types.ts';
export { chunkCount, chunkLength, decodeChannelMessage, describeChannelMessage, type ChannelEncoding, type ChannelMsg } from './messages.ts';
