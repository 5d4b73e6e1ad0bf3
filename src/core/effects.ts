// The one effect vocabulary of every core (docs/architecture.md, "Effects"). A core's step
// returns plain data; one driver (src/worker/effect-driver.ts) carries it out in a fixed order:
// the step's writes are asked for first, signatures are made next, and sends and events leave
// only once every write asked for so far is durable. A core's own effects (a link to open, a
// task to run, a value for the app) are events: anything that is not one of the four shapes
// below is handed, in list order and after the writes, to the service that runs the core.
//
// Time is not an effect: a core says when it next wants a tick with `nextWakeAt()`, which the
// runtime reads after every call into a service (src/worker/runtime.ts, reschedule). A deadline
// moves both ways (a request timer starts, then stops when its request commits; a lease is
// renewed), and a `wake { at }` effect could only ever bring it closer: the runtime would still
// have to ask for the current one, so there would be two ways to say the same thing.
import type { NodeId } from './types.ts';

/** Write these keys and delete those, as one batch, before any later send or event leaves. */
export interface PersistEffect {
  type: 'persist';
  writes: ReadonlyArray<readonly [key: string, value: unknown]>;
  deletes: readonly string[];
}

/**
 * Sign `text` with this node's key and step the core with `{ type: 'signed', id, sig }` before
 * the rest of this step's effects. `signer` is this node, except for a Byzantine test replica
 * asking in another's name (the driver signs with its own key anyway; receivers refuse it).
 */
export interface SignEffect {
  type: 'sign';
  id: number;
  text: string;
  signer?: NodeId;
}

/** The input that answers a SignEffect. */
export interface SignedInput {
  type: 'signed';
  id: number;
  sig: string;
}

/**
 * Send `msg` to one node. `unordered`: it depends on no write of this node (another node's
 * write passed on), so it may leave before this node's earlier writes are durable.
 */
export interface SendEffect<M> {
  type: 'send';
  to: NodeId;
  msg: M;
  unordered?: true;
}

/** Send the same message to each of these nodes. */
export interface BroadcastEffect<M> {
  type: 'broadcast';
  to: readonly NodeId[];
  msg: M;
}

export type VocabularyEffect<M> = PersistEffect | SignEffect | SendEffect<M> | BroadcastEffect<M>;

/** A core's effects: the vocabulary over its messages `M`, plus its own events `E`. */
export type CoreEffect<M, E extends { type: string }> = VocabularyEffect<M> | E;

const vocabulary = new Set(['persist', 'sign', 'send', 'broadcast']);

/** Whether `effect` is one of the four shapes the driver carries out itself (else an event). */
export const isVocabulary = <M>(effect: { type: string }): effect is VocabularyEffect<M> => vocabulary.has(effect.type);

/** One key written, or deleted when `value` is null. */
export const persistKey = (key: string, value: unknown): PersistEffect =>
  value === null ? { type: 'persist', writes: [], deletes: [key] } : { type: 'persist', writes: [[key, value]], deletes: [] };
