// Which pBFT genesis a node follows. Every node of a room must start its replica from the same
// genesis — the first replica set, which is the founding node alone; everyone else joins by a
// committed `join` — or their logs could never be compared. The room agrees on it like this:
//
//  - A genesis is a record `{ room, founder, foundedAt }` signed by its founder's Ed25519 key
//    (nobody can found in another node's name). It is published in the gossip layer's
//    replicated memory under `pbft/genesis`, so every node of the room sees it within a few
//    gossip rounds, and it is kept in the node's own storage (`pbft-genesis`, outside the core's
//    `pbft/` prefix) with the time this node started to follow it.
//  - A node that follows nothing waits `foundAfterMs` for the room's record to reach it; if none
//    does, it founds its own (the first node starts alone).
//  - Two tabs that start at once can both found. Gossip memory is last-writer-wins, so the value
//    in memory alone would pick whoever wrote last; instead the winner is fixed by the records
//    themselves: the earliest `foundedAt`, then the smaller founder id. A node that sees a
//    better record than its own adopts it; one that sees a worse record (or none) writes its own
//    again, which, being newer, wins the memory back. So the memory settles on the best record
//    and every node ends up following it.
//  - Adopting means starting consensus afresh: the node deletes everything under `pbft/` and
//    its follow record, then writes the new follow record (in that order, so a crash in between
//    leaves a node that follows nothing and finds the room's record again — never a node whose
//    stored consensus state belongs to another genesis).
//  - Nothing that matters is lost that way because the service holds a person's proposals back
//    until the genesis it follows is `genesisSettleMs` old — by then a racing record has long
//    reached it. Only a room that was split for longer (two groups that each committed work,
//    then met) loses the later group's log; how many commits were discarded is shown.
//
// What this does not defend against: a node with a modified runtime can sign a record dated in
// the past and make the room start over. The signature only stops impersonation.
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../../core/decode.ts';
import { canonicalBytes } from '../../core/pbft/index.ts';
import type { Millis, NodeId } from '../../core/types.ts';
import { nodeIdSchema, signatureSchema } from '../../core/ids.ts';
import { sha256Hex } from '../../compute/kernels/sha256.ts';

/** The gossip memory key every node of a room reads and writes the genesis under. */
export const genesisMemoryKey = 'pbft/genesis';
/** The node's own record of the genesis it follows (not under the core's `pbft/` prefix). */
export const followStorageKey = 'pbft-genesis';

/**
 * How long a node that follows no genesis waits for the room's to arrive by gossip before it
 * founds its own: longer than a gossip round (2 s) after the first links come up, short enough
 * that a lone tab starts consensus soon.
 */
export const foundAfterMs: Millis = 2_500;
/**
 * Proposals wait until the followed genesis is this old here: two gossip rounds, so a record
 * founded at the same moment elsewhere has reached this node before anything is committed.
 */
export const genesisSettleMs: Millis = 4_000;

export interface GenesisBody {
  type: 'pbft-genesis';
  v: 1;
  room: string;
  founder: NodeId;
  /** The founder's wall clock when it founded (ms since the epoch): the earliest wins. */
  foundedAt: number;
}

export interface GenesisRecord {
  body: GenesisBody;
  /** The founder's Ed25519 signature over canonicalBytes(body). */
  sig: string;
}

/** What the node keeps in its storage about the genesis it follows. */
export interface FollowRecord {
  v: 1;
  genesis: GenesisRecord;
  /** This node's clock when it started to follow it. */
  followedSince: number;
}

const maxRoomChars = 256;
const timestamp = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const bodySchema = v.strictObject({
  type: v.literal('pbft-genesis'),
  v: v.literal(1),
  room: v.pipe(v.string(), v.maxLength(maxRoomChars)),
  founder: nodeIdSchema,
  foundedAt: timestamp,
});
const recordSchema = v.strictObject({ body: bodySchema, sig: signatureSchema }) as unknown as v.GenericSchema<unknown, GenesisRecord>;
const followSchema = v.strictObject({
  v: v.literal(1),
  genesis: recordSchema,
  followedSince: timestamp,
}) as unknown as v.GenericSchema<unknown, FollowRecord>;

/** Checks a genesis record read from gossip memory (its signature is checked separately). */
export function decodeGenesisRecord(raw: unknown): Decoded<GenesisRecord> {
  return decodeWith(recordSchema, raw);
}

/** Checks the follow record read back from storage. */
export function decodeFollowRecord(raw: unknown): Decoded<FollowRecord> {
  return decodeWith(followSchema, raw);
}

export function genesisText(body: GenesisBody): string {
  return canonicalBytes(body);
}

/**
 * Ids already computed, by record body. Housekeeping compares the followed and the stored genesis
 * every 250 ms, and SHA-256 runs in JS; bodies are decoded values never changed in place, and a
 * WeakMap lets each entry go with its record.
 */
const idsByBody = new WeakMap<GenesisBody, string>();

/** A short name for a genesis, carried by every consensus frame (64 bits of its SHA-256). */
export function genesisId(record: GenesisRecord): string {
  let id = idsByBody.get(record.body);
  if (id === undefined) {
    id = sha256Hex(genesisText(record.body)).slice(0, 16);
    idsByBody.set(record.body, id);
  }
  return id;
}

/** Negative when `a` wins over `b`: the earliest founding, then the smaller founder id. */
export function compareGenesis(a: GenesisRecord, b: GenesisRecord): number {
  if (a.body.foundedAt !== b.body.foundedAt) return a.body.foundedAt - b.body.foundedAt;
  if (a.body.founder !== b.body.founder) return a.body.founder < b.body.founder ? -1 : 1;
  return 0;
}

/** Whether a node following `record` since `followedSince` may let proposals commit now. */
export function isSettled(record: GenesisRecord, followedSince: Millis, now: Millis): boolean {
  // A genesis founded long ago has settled already (a newcomer adopting it loses nothing);
  // otherwise count from when this node took it up, whatever the founder's clock says.
  return now >= Math.min(record.body.foundedAt, followedSince) + genesisSettleMs;
}

export type GenesisAction =
  /** Keep waiting for the room's genesis. */
  | { kind: 'wait' }
  /** Found a genesis with this node as the only replica. */
  | { kind: 'found' }
  /** Start over under this (better) genesis. */
  | { kind: 'adopt'; record: GenesisRecord }
  /** Write our record to gossip memory (it holds none, or a worse one). */
  | { kind: 'assert' }
  | { kind: 'keep' };

export interface GenesisSituation {
  /** The genesis this node follows, if any. */
  following: GenesisRecord | null;
  /** The record in gossip memory, decoded, of this room and with a good signature; else null. */
  inMemory: GenesisRecord | null;
  now: Millis;
  /** When this node's consensus service started. */
  startedAt: Millis;
}

/** The bootstrap rule above, as a pure function of what the node knows. */
export function decideGenesis(s: GenesisSituation): GenesisAction {
  if (!s.following) {
    if (s.inMemory) return { kind: 'adopt', record: s.inMemory };
    return s.now >= s.startedAt + foundAfterMs ? { kind: 'found' } : { kind: 'wait' };
  }
  if (!s.inMemory) return { kind: 'assert' };
  const order = compareGenesis(s.inMemory, s.following);
  if (order < 0) return { kind: 'adopt', record: s.inMemory };
  if (order > 0) return { kind: 'assert' };
  return genesisId(s.inMemory) === genesisId(s.following) ? { kind: 'keep' } : { kind: 'assert' };
}
