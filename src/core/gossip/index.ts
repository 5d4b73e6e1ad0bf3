// The gossip layer's public surface: the core, its inputs/effects/view, the wire decoder and
// the storage keys. See core.ts for how it works and types.ts for the runtime contract.
export { GossipCore } from './core.ts';
export type {
  GossipEffect,
  GossipEvent,
  GossipInput,
  GossipMetrics,
  GossipOptions,
  GossipView,
  MemberView,
  MemoryEntryView,
  MemberStatus,
  JsonValue,
} from './types.ts';
export { defaultGossipConfig, maxMessageBytes, type GossipConfig } from './config.ts';
export { decode, decodeText, describe, type GossipMsg } from './messages.ts';
export { gossipStoragePrefix, selfRecordKey, memoryKeyPrefix } from './persist.ts';
