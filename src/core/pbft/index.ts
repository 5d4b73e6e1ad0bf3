// The pBFT core's public surface, for the runtime (src/worker) and the UI. How to drive it is
// explained at the top of replica.ts; the wire contract (signatures) at the top of messages.ts.
export { PbftReplica, type PbftFootprint } from './replica.ts';
export type { PbftInput, PbftEffect, PbftOptions, PbftUiEvent, PbftPhase, PbftView, PbftSlotView, CommittedEntry } from './types.ts';
export type { PbftEvent, CommittedEvent, ClientResultEvent } from './types.ts';
export {
  decode,
  decodeMessage,
  describe,
  canonicalBytes,
  signaturesToVerify,
  type PbftMessage,
  type PbftBody,
  type Signed,
  type SignatureCheck,
} from './messages.ts';
export { PbftClient, type ClientEffect, type ClientInput } from './client.ts';
export { decodeOp, describeOp, type Op, type OpResult } from './ops.ts';
export { byzantineModes, isByzantineMode, type ByzantineMode } from './byzantine.ts';
export { defaultPbftParams, defaultPbftTiming, maxBatchRequestsOnWire, type PbftParams, type PbftTiming } from './constants.ts';
export { faultsTolerated, quorumSize, replyQuorum } from './quorum.ts';
export { membershipBoundary } from './state-machine.ts';
export { persistPrefix } from './persistence.ts';
export type { DigestFn } from './certificates.ts';
export { appCheckpointEveryOps, appMachineNamePattern, maxAppSnapshotBytes } from './app-limits.ts';
export type { AppMachineState, AppOpEntry } from './app-machines.ts';
export type { StateMachine } from './machine.ts';
