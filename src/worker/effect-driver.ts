// The one driver that carries out every core's effects (docs/architecture.md, "Effects"; the
// vocabulary is src/core/effects.ts). For each batch a core's step returns, in list order:
//
// - `persist`: handed to the group commit (group-commit.ts), the driver's write policy;
// - `sign`: signed with the node's key, and the core stepped with `{ type: 'signed', id, sig }`
//   at once; that step's effects are applied in place of the sign, before the rest of the list;
// - `send`, `broadcast` and events (the core's own effects): carried out once every write asked
//   for so far is durable, in list order (`unordered` sends leave at once: they depend on no
//   write of this node, e.g. relayed gossip).
//
// (Time is no effect: a core's next tick is its nextWakeAt(), see src/core/effects.ts.)
//
// Within a batch, effects leave in list order: what follows a sign waits for the signature. Other
// batches do not wait (an overlay's links need not wait for its advert's signature); a core
// that must not be stepped before its signature is back (pbft) awaits apply's promise before its
// next input (pbft-driver.ts). A signature that comes back later re-enters
// through the runtime's dispatch (ServiceContext.reenter), like every other call into a
// service; a signer that fails, or a core that throws on the signed input, is counted and
// reported through `failed`, and the rest of that batch is dropped (it may depend on the
// signature). Nothing here floats a promise that can reject.
import { isVocabulary, type CoreEffect, type SignEffect, type SignedInput } from '../core/effects.ts';
import type { NodeId } from '../core/types.ts';
import type { GroupCommit } from './group-commit.ts';

export interface DriverPorts<M, E extends { type: string }> {
  /** Puts `msg` on its way to `to` (a direct link, or routed). */
  send(to: NodeId, msg: M): void;
  /** Default: `send` to each. */
  broadcast?(to: readonly NodeId[], msg: M): void;
  /** The core's own effects, in list order, after the writes before them are durable. */
  event?(event: E): void;
  /** Signs for a `sign` effect: a signature, or a promise of one (WebCrypto). */
  sign?(effect: SignEffect): string | Promise<string>;
  /** Steps the core with the signature it asked for; returns that step's effects. */
  signed?(input: SignedInput): ReadonlyArray<CoreEffect<M, E>>;
  /** Runs `fn` as the runtime runs every call into a service (ServiceContext.reenter). */
  reenter(fn: () => void): void;
  /** Something failed (a signer, a send, the core on a signed input): count and report it. */
  failed(what: string, error: unknown): void;
}

export class EffectDriver<M, E extends { type: string }> {
  /** Batches waiting for a signature. */
  private suspended = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly commit: GroupCommit,
    private readonly ports: DriverPorts<M, E>,
  ) {}

  /**
   * Carries out one step's effects. Returns a promise only when a signature is awaited: it
   * resolves once every effect has been applied or handed to the group commit. With a signer
   * that answers at once, everything happens before this returns.
   */
  apply(effects: ReadonlyArray<CoreEffect<M, E>>): Promise<void> | undefined {
    if (this.closed || effects.length === 0) return undefined;
    let sync = true;
    let resolveLater: (() => void) | null = null;
    let finishedNow = false;
    this.run(effects, 0, () => {
      if (sync) finishedNow = true;
      else resolveLater?.();
      this.settle();
    });
    sync = false;
    return finishedNow ? undefined : new Promise<void>((resolve) => (resolveLater = resolve));
  }

  /** Stops: nothing more is applied or sent (writes already handed to storage still land). */
  close(): void {
    this.closed = true;
    this.settle();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves when no batch waits for a signature and every write and send is done. */
  async settled(): Promise<void> {
    while (!this.closed && this.suspended > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.commit.idle();
  }

  /** Applies effects[from..], then calls `next` (at once, or after a signature comes back). */
  private run(effects: ReadonlyArray<CoreEffect<M, E>>, from: number, next: () => void): void {
    for (let i = from; i < effects.length && !this.closed; i++) {
      const effect = effects[i] as CoreEffect<M, E>;
      if (!isVocabulary<M>(effect)) {
        this.later(() => this.ports.event?.(effect as E), 'event');
        continue;
      }
      switch (effect.type) {
        case 'persist':
          this.commit.persist(effect.writes, effect.deletes);
          break;
        case 'send':
          if (effect.unordered) this.guard(() => this.ports.send(effect.to, effect.msg), 'send');
          else this.later(() => this.ports.send(effect.to, effect.msg), 'send');
          break;
        case 'broadcast':
          this.later(
            () => (this.ports.broadcast ? this.ports.broadcast(effect.to, effect.msg) : effect.to.forEach((to) => this.ports.send(to, effect.msg))),
            'send',
          );
          break;
        case 'sign': {
          const rest = () => this.run(effects, i + 1, next);
          const signature = this.signFor(effect);
          // Without a signature the rest of the batch is dropped: it may depend on it.
          if (signature === null) return next();
          if (typeof signature !== 'string') return this.suspend(signature, effect, rest, next);
          let nestedDone = false;
          let sync = true;
          const nested = this.stepSigned(effect, signature, () => (sync ? (nestedDone = true) : rest()));
          sync = false;
          if (!nested) return next();
          if (!nestedDone) return; // the signed step waits for a signature of its own; `rest` follows it
          break;
        }
      }
    }
    next();
  }

  /** Waits for a signature, then (re-entering through the runtime) applies the rest in order. */
  private suspend(signature: Promise<string>, effect: SignEffect, rest: () => void, next: () => void): void {
    this.suspended++;
    const resume = (sig: string | null) => {
      this.suspended--;
      if (sig === null || this.closed || !this.stepSigned(effect, sig, rest)) next();
    };
    signature.then(
      (sig) => this.ports.reenter(() => resume(sig)),
      (error: unknown) => {
        this.ports.failed('sign', error);
        this.ports.reenter(() => resume(null));
      },
    );
  }

  private signFor(effect: SignEffect): string | Promise<string> | null {
    if (!this.ports.sign || !this.ports.signed) {
      this.ports.failed('sign', new Error('this core asked for a signature, but its driver has no signer'));
      return null;
    }
    try {
      return this.ports.sign(effect);
    } catch (error) {
      this.ports.failed('sign', error);
      return null;
    }
  }

  /**
   * Steps the core with its signature and applies that step's effects depth first (before the
   * rest of the batch), then calls `then`. False if the core threw (then `then` is not called).
   */
  private stepSigned(effect: SignEffect, sig: string, then: () => void): boolean {
    let effects: ReadonlyArray<CoreEffect<M, E>>;
    try {
      effects = (this.ports.signed as NonNullable<DriverPorts<M, E>['signed']>)({ type: 'signed', id: effect.id, sig });
    } catch (error) {
      this.ports.failed('signed', error);
      return false;
    }
    this.run(effects, 0, then);
    return true;
  }

  /** After every write asked for so far is durable. */
  private later(action: () => void, what: string): void {
    this.commit.after(() => {
      if (!this.closed) this.guard(action, what);
    });
  }

  private guard(action: () => void, what: string): void {
    try {
      action();
    } catch (error) {
      this.ports.failed(what, error);
    }
  }

  private settle(): void {
    if (this.suspended === 0 || this.closed) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
