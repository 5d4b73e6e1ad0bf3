// Feeds one PbftReplica the way replica.ts asks (see "How a runtime drives it" there): one
// input at a time, and the next only once the effects of the last are applied. The effects
// themselves are the one effect driver's (effect-driver.ts, docs/architecture.md "Effects"):
// writes group committed and durable before anything after them leaves, each `sign` answered
// with a `signed` input before the next effect. Signing and verifying are asynchronous
// (WebCrypto), so inputs wait in a bounded queue and are stepped in arrival order; a message's
// signatures are checked while it waits (see PbftService.receive), so verification of many
// messages overlaps. Every step runs through the runtime's dispatch (hooks.reenter).
import type { PbftEffect, PbftEvent, PbftInput, PbftMessage, PbftReplica } from '../../core/pbft/index.ts';
import type { ClientResultEvent, CommittedEvent, PbftUiEvent } from '../../core/pbft/index.ts';
import type { Millis, NodeId } from '../../core/types.ts';
import { EffectDriver } from '../effect-driver.ts';
import type { GroupCommit } from '../group-commit.ts';

/** Inputs waiting for the core; beyond this, new messages are dropped (their senders retransmit). */
export const maxQueuedInputs = 2_048;
/**
 * Sends and events waiting for writes; beyond this the driver waits for the disk before it
 * steps another input (and inputs pile up to maxQueuedInputs, then are dropped).
 */
export const maxDurableBacklog = 4_096;

export interface DriverHooks {
  now(): Millis;
  /** Ed25519 signature over `text` by this node's key (whatever `signer` says: see 'forge'). */
  sign(text: string, signer: NodeId): Promise<string>;
  /** Carried out after every earlier write of this core is durable. */
  send(to: readonly NodeId[], msg: PbftMessage): void;
  committed(event: CommittedEvent): void;
  clientResult(event: ClientResultEvent): void;
  ui(event: PbftUiEvent): void;
  /** Runs a step as the runtime runs every call into a service (ServiceContext.reenter). */
  reenter(fn: () => void): void;
  /** The core threw (a broken invariant: a bug), or a signature failed; the input is dropped and the node stays up. */
  failed(error: unknown): void;
  /** An input has been stepped and its effects handed on (for snapshots). */
  stepped(): void;
}

/** An input now, or one that becomes known later (a message whose signatures are being checked). */
export type QueuedInput = PbftInput | (() => Promise<PbftInput | null>);

export class PbftDriver {
  private readonly queue: QueuedInput[] = [];
  private running = false;
  private closed = false;
  private tickQueued = false;
  private started = false;
  private idleWaiters: Array<() => void> = [];
  /** Inputs dropped because the queue was full. */
  dropped = 0;
  private readonly effects: EffectDriver<PbftMessage, PbftEvent>;

  constructor(
    readonly core: PbftReplica,
    private readonly durable: GroupCommit,
    private readonly hooks: DriverHooks,
  ) {
    this.effects = new EffectDriver(durable, {
      send: (to, msg) => hooks.send([to], msg),
      broadcast: (to, msg) => hooks.send(to, msg),
      event: (event) => {
        if (event.type === 'committed') hooks.committed(event);
        else if (event.type === 'client-result') hooks.clientResult(event);
        else hooks.ui(event.event);
      },
      sign: (effect) => hooks.sign(effect.text, effect.signer as NodeId),
      signed: (input) => core.step(hooks.now(), input),
      reenter: (fn) => hooks.reenter(fn),
      failed: (_what, error) => hooks.failed(error),
    });
  }

  /** Runs core.start(); call once, before any input. */
  start(): void {
    if (this.started) throw new Error('PbftDriver.start called twice');
    this.started = true;
    this.queue.unshift(async () => {
      await this.apply(() => this.core.start(this.hooks.now()));
      return null;
    });
    void this.pump();
  }

  /** Queues an input; false when the queue is full and it was dropped. */
  input(input: QueuedInput): boolean {
    if (this.closed) return false;
    if (this.queue.length >= maxQueuedInputs) {
      this.dropped++;
      return false;
    }
    this.queue.push(input);
    void this.pump();
    return true;
  }

  /** Queues a timer tick unless one is waiting already. */
  tick(): void {
    if (this.tickQueued || this.closed) return;
    this.tickQueued = true;
    this.queue.push(() => {
      this.tickQueued = false;
      return Promise.resolve({ type: 'tick' } as PbftInput);
    });
    void this.pump();
  }

  /** Whether inputs are waiting or being stepped (the core's next wake-up may be about to change). */
  get busy(): boolean {
    return this.running || this.queue.length > 0;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Resolves once no input is waiting or being stepped (then GroupCommit.idle() covers the rest). */
  idle(): Promise<void> {
    if (!this.busy || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops: queued inputs are dropped, nothing more is sent (writes already queued still land). */
  close(): void {
    this.closed = true;
    this.effects.close();
    this.queue.length = 0;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private async pump(): Promise<void> {
    if (this.running || !this.started) return;
    this.running = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        if (this.durable.backlog > maxDurableBacklog) await this.durable.idle();
        if (this.closed) break;
        const next = this.queue.shift() as QueuedInput;
        try {
          const input = typeof next === 'function' ? await next() : next;
          if (this.closed || input === null) continue;
          await this.apply(() => this.core.step(this.hooks.now(), input));
        } catch (error) {
          this.hooks.failed(error);
        }
        this.hooks.stepped();
      }
    } finally {
      this.running = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /**
   * Steps the core through the runtime's dispatch and hands its effects to the driver; resolves
   * once they are applied (a signature may be awaited). A throw in the core rejects.
   */
  private apply(step: () => PbftEffect[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.hooks.reenter(() => {
        try {
          void (this.effects.apply(step()) ?? Promise.resolve()).then(resolve);
        } catch (error) {
          reject(error);
        }
      });
    });
  }
}
