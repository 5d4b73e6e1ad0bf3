// The pbft core's effects in the shared vocabulary (src/core/effects.ts), for the one effect
// driver. The core still tags its effects with `kind` (its own union, src/core/pbft/types.ts);
// this is the one place that reads that tag: writes, signatures (over canonicalBytes(body), the
// text replica.ts asks to be signed), sends and broadcasts map one to one, and the rest
// (committed batches, client results, UI events) are pbft's own, carried out after the writes
// before them like every event.
import { canonicalBytes, type PbftEffect, type PbftMessage } from '../../core/pbft/index.ts';
import type { CoreEffect } from '../../core/effects.ts';

/** Committed batches, client results and UI events: carried out by the pbft service. */
export type PbftOwnEffect = { type: 'pbft'; effect: Extract<PbftEffect, { kind: 'committed' | 'client-result' | 'ui' }> };

/**
 * This node's own client request depends on no write (its number comes from the clock,
 * client.ts), so it leaves at once, unordered: waiting would make each proposal wait for the
 * previous one's commit record (docs/benchmarks.md, "Consensus latency, where the time goes").
 */
const isOwnRequest = (msg: PbftMessage, self: string): boolean => msg.body.type === 'request' && msg.signer === self;

export function pbftEffects(effects: readonly PbftEffect[], self: string): Array<CoreEffect<PbftMessage, PbftOwnEffect>> {
  return effects.flatMap((effect): Array<CoreEffect<PbftMessage, PbftOwnEffect>> => {
    switch (effect.kind) {
      case 'persist':
        return [{ type: 'persist', writes: effect.writes, deletes: effect.deletes }];
      case 'sign':
        return [{ type: 'sign', id: effect.id, text: canonicalBytes(effect.body), signer: effect.signer }];
      case 'send':
        return [
          isOwnRequest(effect.msg, self) ? { type: 'send', to: effect.to, msg: effect.msg, unordered: true } : { type: 'send', to: effect.to, msg: effect.msg },
        ];
      case 'broadcast':
        if (isOwnRequest(effect.msg, self)) return effect.to.map((to) => ({ type: 'send', to, msg: effect.msg, unordered: true }));
        return [{ type: 'broadcast', to: effect.to, msg: effect.msg }];
      default:
        return [{ type: 'pbft', effect }];
    }
  });
}
