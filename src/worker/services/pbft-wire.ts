// How consensus messages travel between nodes. A 'pbft' frame carries the message and the id of
// the genesis its sender follows: two nodes that follow different genesis records (two tabs
// that founded at once, before one of them adopts the other's) may reach the same replica set
// later, and their messages must never be mistaken for each other's.
//
// Transport: a message goes over the direct link to its addressee when one is up (in rooms of
// a few tabs every node links to every other), and otherwise over the mesh (`ctx.sendTo`: routed
// hop by hop, signed by this node and checked on arrival by the routing service), so replicas
// need not be linked directly. `transmit` below is the one place that decides how a message
// reaches a node.
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../../core/decode.ts';
import type { NodeId } from '../../core/types.ts';
import type { ServiceContext } from '../service.ts';

export interface PbftFrame {
  /** genesisId() of the genesis the sender follows. */
  g: string;
  /** The consensus message (decoded by the core's messages.ts on arrival). */
  m: unknown;
}

const frameSchema = v.strictObject({ g: v.pipe(v.string(), v.regex(/^[0-9a-f]{16}$/)), m: v.unknown() }) as unknown as v.GenericSchema<unknown, PbftFrame>;

/** Checks the outer frame; the message inside is the core decoder's job. */
export function decodePbftFrame(raw: unknown): Decoded<PbftFrame> {
  return decodeWith(frameSchema, raw);
}

export type Delivery = 'direct' | 'routed';

/** Sends one frame to one node (the core retransmits what gets lost either way). */
export function transmit(ctx: ServiceContext, to: NodeId, frame: PbftFrame): Delivery {
  if (ctx.send(to, frame)) return 'direct';
  ctx.sendTo(to, frame);
  return 'routed';
}
