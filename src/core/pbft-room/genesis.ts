// Which pBFT genesis a node follows: the record, its checks and its order. Pure: the worker's
// PbftService signs, verifies and stores; agreement.ts decides. Every node of a room must start
// its replica from the same genesis — the first replica set, which is the founding node alone; everyone else joins by a
// committed `join` — or their logs could never be compared. The room agrees on it like this:
//
//  - A genesis is a record `{ room, founder, foundedAt }` signed by its founder's Ed25519 key
//    (nobody can found in another node's name). It is published in the gossip layer's
//    replicated memory under `pbft/genesis`, so every node of the room sees it within a few
//    gossip rounds, and it is kept in the node's own storage (`pbft-genesis`, outside the core's
//    `pbft/` prefix) with the time this node started to follow it.
//  - A node that follows nothing founds a genesis only when it is the first of the room, as far
//    as the signaling server and gossip can tell (founding.ts): it has joined at the server,
//    every node the server or gossip names is alive, and the room has looked the same for a
//    while. A node cut off from the server or from the others waits instead — founding alone
//    there let a lone node acknowledge operations the room later dropped (VOPR seeds 4 and 16,
//    docs/simulation.md).
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
//    until it has followed the genesis for `genesisSettleMs` on its monotonic clock — by then a
//    racing record has long reached it (the wall clock may jump: VOPR seed 20). Only a room
//    split for longer (two groups that each committed work, then met) loses the later group's
//    log; how many commits were discarded is shown. docs/security.md ("Genesis") lists when.
//
// What this does not defend against: a node with a modified runtime can sign a record dated in
// the past and make the room start over. The signature only stops impersonation.
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../decode.ts';
import { canonicalBytes } from '../pbft/index.ts';
import type { Millis, NodeId } from '../types.ts';
import { nodeIdSchema, signatureSchema } from '../ids.ts';
import { sha256Hex } from '../../compute/kernels/sha256.ts';

/** The gossip memory key every node of a room reads and writes the genesis under. */
export const genesisMemoryKey = 'pbft/genesis';
/** The node's own record of the genesis it follows (not under the core's `pbft/` prefix). */
export const followStorageKey = 'pbft-genesis';

/**
 * Proposals wait until this node has followed its genesis this long (monotonic clock): two
 * gossip rounds, so a record founded at the same moment elsewhere has reached this node before
 * anything is committed.
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
  /** This node's wall clock when it started to follow it (shown; the settle wait uses the monotonic clock). */
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
