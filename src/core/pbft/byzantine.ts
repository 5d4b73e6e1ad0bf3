// Byzantine behaviours a replica can be switched into, for the simulator and the live demo.
// They act on what the replica sends; honest replicas must stay safe whatever these do, and
// live while at most f replicas misbehave.
//
//   silent        sends nothing (a crashed replica that still looks up)
//   equivocate    as primary, sends two different pre-prepares for one number to two halves
//                 of the backups and commits neither (in replica.ts, where batches are built),
//                 so no half can commit without the others and a view change replaces it
//   wrong-digest  votes prepare/commit (and checkpoints) for digests that do not match
//   forge         also sends votes that claim other replicas as their signer: the `sign`
//                 effect names the victim, the runtime can only sign with its own key, so
//                 every honest receiver's runtime refuses them (the core never sees them)
//   replay        re-sends old messages (its own and others', validly signed) now and then
//   delay         holds each message back for a random while, which also reorders them
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import { delayBufferMessages, replayBufferMessages } from './constants.ts';
import type { PbftMessage } from './messages.ts';

export const byzantineModes = ['silent', 'equivocate', 'wrong-digest', 'forge', 'replay', 'delay'] as const;
export type ByzantineMode = (typeof byzantineModes)[number];

export function isByzantineMode(raw: unknown): raw is ByzantineMode {
  return typeof raw === 'string' && (byzantineModes as readonly string[]).includes(raw);
}

/** How long a 'delay' replica holds a message back, at least and at most. */
export const delayHoldMinMs: Millis = 200;
export const delayHoldMaxMs: Millis = 1_500;
/** How often a 'replay' replica re-sends a few old messages. */
export const replayIntervalMs: Millis = 150;
/** Old messages re-sent per replay round. */
export const replaysPerRound = 3;

/** A message on its way out: to one node or to several. */
export interface Outgoing {
  to: NodeId[];
  msg: PbftMessage;
}

/** A digest no batch has, for 'wrong-digest' votes (stable per input so votes look consistent). */
export function wrongDigest(digest: string): string {
  return `bad-${digest}`.slice(0, 100);
}

export class ByzantineOutbox {
  mode: ByzantineMode | null = null;
  private held: Array<{ at: Millis; out: Outgoing }> = [];
  private readonly seen: PbftMessage[] = [];
  private nextReplayAt: Millis = 0;

  constructor(private readonly rng: Rng) {}

  set(mode: ByzantineMode | null, now: Millis): Outgoing[] {
    const released = mode === 'delay' ? [] : this.held.map((h) => h.out);
    if (mode !== 'delay') this.held = [];
    this.mode = mode;
    this.nextReplayAt = now;
    return this.mode === 'silent' ? [] : released;
  }

  /** What leaves now for a message the replica wants to send. */
  send(now: Millis, out: Outgoing): Outgoing[] {
    if (this.mode === 'replay') this.remember(out.msg);
    switch (this.mode) {
      case 'silent':
        return [];
      case 'delay': {
        const at = now + delayHoldMinMs + this.rng.int(delayHoldMaxMs - delayHoldMinMs + 1);
        this.held.push({ at, out });
        if (this.held.length > delayBufferMessages) {
          this.held.sort((a, b) => a.at - b.at);
          return [(this.held.shift() as { out: Outgoing }).out];
        }
        return [];
      }
      default:
        return [out];
    }
  }

  /** Messages received: a replaying replica keeps some to send again later. */
  observe(msg: PbftMessage): void {
    if (this.mode === 'replay') this.remember(msg);
  }

  /** Messages whose time has come (delay) or old ones sent again (replay). */
  tick(now: Millis, replicas: readonly NodeId[]): Outgoing[] {
    if (this.mode === 'delay') {
      const due = this.held.filter((h) => h.at <= now).sort((a, b) => a.at - b.at);
      this.held = this.held.filter((h) => h.at > now);
      return due.map((h) => h.out);
    }
    if (this.mode === 'replay' && now >= this.nextReplayAt && this.seen.length > 0 && replicas.length > 0) {
      this.nextReplayAt = now + replayIntervalMs;
      const out: Outgoing[] = [];
      for (let i = 0; i < replaysPerRound; i++) {
        const msg = this.rng.pick(this.seen);
        if (msg) out.push({ to: [...replicas], msg });
      }
      return out;
    }
    return [];
  }

  nextWakeAt(): Millis | undefined {
    if (this.mode === 'delay') {
      let next: Millis | undefined;
      for (const h of this.held) if (next === undefined || h.at < next) next = h.at;
      return next;
    }
    if (this.mode === 'replay' && this.seen.length > 0) return this.nextReplayAt;
    return undefined;
  }

  heldCount(): number {
    return this.held.length;
  }

  private remember(msg: PbftMessage): void {
    // Keep a spread of old traffic: the buffer fills, then random entries are overwritten.
    if (this.seen.length < replayBufferMessages) this.seen.push(msg);
    else this.seen[this.rng.int(replayBufferMessages)] = msg;
  }
}
