// What the gossip member table is: the whole room, or (a room larger than gossip's `viewSize`)
// a random sample of it that peer sampling keeps rotating (src/core/gossip/README.md, "Large
// rooms"). Every reader of the table — the dashboard, the Node peer's log, health, the status
// record — reads this to stay honest about a sample: members rotating out of it have not left.
//
// The room's size is not estimated: nothing measures it. The signaling server's join answer
// names at most 8 peers (signaling/protocol.ts) and never a count; the overlay sees 4 hops; and
// gossip counts no collisions of its samples with its table (which would give an estimate).
// So a sampled table says only what is sure: the room holds at least the live members held.
import * as v from 'valibot';
import type { GossipView } from '../../core/gossip/index.ts';
import { decodeWith, type Decoded } from '../../core/decode.ts';

/** `snapshot().memberTable`. */
export interface MemberTableView {
  /** The table is full: `members` is a random sample of a room that may be larger, and it rotates. */
  sampled: boolean;
  /** Live (alive or suspect) members held, this node included: in a sampled table, a lower bound of the room. */
  live: number;
  /** The most live members gossip holds (beyond it, the table is a sample). */
  viewSize: number;
}

/** The biggest count accepted (a room of a million nodes is far beyond any run so far). */
const maxCount = 1_000_000;
const count = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(maxCount));

/** The shape of `memberTable` as it crosses a boundary (postMessage to the page, the Node log). */
export const memberTableSchema = v.strictObject({ sampled: v.boolean(), live: count, viewSize: v.pipe(count, v.minValue(1)) });

/** Checks a snapshot's `memberTable`; a reader refuses what does not decode rather than guess. */
export const decodeMemberTable = (raw: unknown): Decoded<MemberTableView> => decodeWith(memberTableSchema, raw);

/** The table as gossip's view and its `viewSize` describe it. */
export function memberTableOf(view: Pick<GossipView, 'members' | 'metrics'>, viewSize: number): MemberTableView {
  const live = view.members.filter((m) => m.status === 'alive' || m.status === 'suspect').length;
  return { sampled: view.metrics.partialView, live, viewSize };
}

/** One phrase for a person: "the whole room" or "a sample of 320 from a room of ≥ 320". */
export function memberTableText(table: MemberTableView): string {
  return table.sampled ? `a sample of ${table.live} from a room of ≥ ${table.live}` : 'the whole room';
}
