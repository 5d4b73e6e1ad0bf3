// A node running in this page once createMeshNode (src/mesh-node.ts) has started it: the
// protocol worker under its supervisor, the WebRTC host that carries the worker's links, the
// snapshots and memory the worker posts, and the node's two ways to end (close(): leave
// gracefully; the page going away: at once). Each step is a method with one job.
import type { SlotClaim } from './net/slot.ts';
import { PeerHost } from './net/peer-host.ts';
import { decodeWorkerToPage, type PageToWorker, type WorkerToPage } from './worker/protocol.ts';
import { PageMemory } from './page-memory.ts';
import type { NodeSnapshot } from './worker/snapshot.ts';
import type { IceServer } from './net/transport.ts';
import { WorkerSupervisor, type RecoveryView, type RestartRecord } from './worker-supervisor.ts';
import type { EarlyWorker } from './early-worker.ts';
import { WorkerCalls } from './worker-calls.ts';
import { startIceRefresh, type IceRefresher } from './net/ice-refresh.ts';
import type { IceTransportPolicy } from '../signaling/ice-config.ts';
import type { MeshNode } from './mesh-node.ts';

/** How long close() waits for the worker's goodbyes before it stops the worker anyway. */
export const leaveTimeoutMs = 5_000;

/** A new protocol worker (its script starts loading now; it waits for an init message). */
export const startWorker = (): Worker => new Worker(new URL('./worker/node.worker.ts', import.meta.url), { type: 'module', name: 'tabmesh-node' });

/** What a node needs before its supervisor starts: the checked browser, a slot, ICE settings, the first worker. */
export interface NodeStart {
  firstWorker: EarlyWorker;
  claim: SlotClaim;
  iceServers: IceServer[];
  /** True when the app gave the ICE servers itself (else they came from /config.json and are kept fresh). */
  iceServersGiven: boolean;
  iceTransportPolicy: IceTransportPolicy;
  initMessage: PageToWorker;
}

export class PageNode {
  readonly slot: number;
  private readonly claim: SlotClaim;
  /** The worker started during the start-up, handed to the supervisor as its first. */
  private firstWorker: EarlyWorker | null;
  private readonly supervisor: WorkerSupervisor;
  private readonly calls: WorkerCalls;
  private readonly host: PeerHost;
  /** ICE servers from /config.json may carry short-lived TURN credentials: kept fresh. */
  private readonly iceRefresh: IceRefresher | null;
  private readonly pageMemory = new PageMemory();
  private readonly listeners = new Set<(snapshot: NodeSnapshot) => void>();
  private readonly failureListeners = new Set<(message: string) => void>();
  private latest: NodeSnapshot | null = null;
  private failure: string | null = null;
  private closed = false;
  private leaving: Promise<void> | null = null;
  private readonly toWorker = (message: PageToWorker, transfer?: Transferable[]) => this.supervisor.post(message, transfer);
  /** A frozen or hidden page that runs again: the worker was stopped too, its silence is no hang. */
  private readonly resumed = () => this.supervisor.pageResumed();
  private readonly pageHidden = () => this.closeNow();

  constructor(start: NodeStart) {
    this.slot = start.claim.slot;
    this.claim = start.claim;
    this.firstWorker = start.firstWorker;
    this.supervisor = this.supervise(start.initMessage);
    this.calls = new WorkerCalls(this.toWorker);
    this.iceRefresh = start.iceServersGiven ? null : startIceRefresh(start.iceServers);
    const iceRefresh = this.iceRefresh;
    this.host = new PeerHost(this.toWorker, { iceTransportPolicy: start.iceTransportPolicy, ...(iceRefresh ? { iceServers: () => iceRefresh.current } : {}) });
    this.attachToPage();
  }

  get error(): string | null {
    return this.failure;
  }

  get recovery(): RecoveryView {
    return this.supervisor.view();
  }

  snapshot(): NodeSnapshot | null {
    return this.latest;
  }

  subscribe(listener: (snapshot: NodeSnapshot) => void): () => void {
    this.listeners.add(listener);
    if (this.latest) listener(this.latest);
    return () => this.listeners.delete(listener);
  }

  subscribeMemory(listener: Parameters<MeshNode['subscribeMemory']>[0]): () => void {
    return this.pageMemory.subscribe(listener);
  }

  memory(key: string): ReturnType<MeshNode['memory']> {
    return this.pageMemory.get(key);
  }

  onEvent(name: string, listener: (payload: unknown) => void): () => void {
    return this.calls.onEvent(name, listener);
  }

  command(name: string, ...args: unknown[]): Promise<unknown> {
    return this.closed ? Promise.reject(new Error('this node has been closed')) : this.calls.call(name, args);
  }

  onFailure(listener: (message: string) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /** The page stays: the worker leaves gracefully and is then stopped, and the slot freed. */
  close(): Promise<void> {
    return (this.leaving ??= this.leave());
  }

  /** The supervisor restarts a worker that crashes or hangs (src/worker-supervisor.ts). */
  private supervise(initMessage: PageToWorker): WorkerSupervisor {
    return new WorkerSupervisor({
      createWorker: () => {
        const worker = this.firstWorker ?? startWorker();
        this.firstWorker = null;
        return worker;
      },
      // One init message for every worker this page starts (a restarted one gets the same, whole).
      initMessage: () => initMessage,
      onMessage: (data) => this.fromWorker(data),
      onRestart: (record) => this.workerRestarted(record),
      onGiveUp: (message) => this.gaveUp(message),
    });
  }

  private workerRestarted(record: RestartRecord): void {
    console.warn(`tabmesh: the protocol worker was restarted (${record.reason})`);
    // The node is not leaving: its peers must not hear a goodbye, only see the links close.
    this.host.setLastWords([]);
    this.host.destroyAll();
    this.calls.rejectAll(`the protocol worker restarted (${record.reason}); try again`);
    this.republish();
  }

  private gaveUp(message: string): void {
    this.failure = message;
    for (const listener of [...this.failureListeners]) listener(message);
    console.error(`tabmesh: ${message}`);
    this.host.destroyAll();
    this.calls.rejectAll(message);
    this.republish();
  }

  /** Hands listeners the latest snapshot again, with the supervisor's news in it. */
  private republish(): void {
    if (this.latest) this.publish(this.latest);
  }

  private publish(snapshot: NodeSnapshot): void {
    this.latest = this.pageMemory.attach({ ...snapshot, recovery: this.supervisor.view() });
    for (const listener of this.listeners) listener(this.latest);
  }

  private fromWorker(data: unknown): void {
    const decoded = decodeWorkerToPage(data);
    if (!decoded.ok) {
      console.warn(`tabmesh: refused a message from the worker (${decoded.error})`);
      return;
    }
    this.take(decoded.value);
  }

  /** One checked message of the worker, to the part of the page it is for. */
  private take(message: WorkerToPage): void {
    switch (message.type) {
      case 'snapshot':
        return this.publish(message.snapshot as unknown as NodeSnapshot);
      case 'reply':
        return this.calls.reply(message);
      case 'event':
        return this.calls.event(message.name, message.payload);
      case 'memory':
        return this.pageMemory.apply(message);
      case 'last-words':
        return this.host.setLastWords(message.frames);
      case 'fatal':
        console.error(`tabmesh: ${message.message}`);
        return this.supervisor.fatal(message);
      default:
        this.host.handle(message);
    }
  }

  private attachToPage(): void {
    addEventListener('resume', this.resumed);
    addEventListener('visibilitychange', this.resumed);
    addEventListener('pagehide', this.pageHidden);
  }

  /** Stops listening to the page's life (a node that left must not keep its page's listeners). */
  private detachFromPage(): void {
    removeEventListener('resume', this.resumed);
    removeEventListener('visibilitychange', this.resumed);
    removeEventListener('pagehide', this.pageHidden);
  }

  /** The page is going away: no time to wait for anything. */
  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    this.detachFromPage();
    this.iceRefresh?.stop();
    this.supervisor.stop();
    this.toWorker({ type: 'shutdown' });
    // Closing our side of every connection lets peers notice at once, even if the worker
    // is torn down before it can say goodbye.
    this.host.destroyAll();
  }

  private async leave(): Promise<void> {
    if (this.closed) return;
    const said = this.calls.settle('leave', []);
    this.closed = true;
    this.detachFromPage();
    this.iceRefresh?.stop();
    // The supervisor keeps passing the worker's messages on (its reply) until terminate().
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([said, new Promise((resolve) => (timer = setTimeout(resolve, leaveTimeoutMs)))]);
    clearTimeout(timer);
    this.host.destroyAll();
    this.supervisor.terminate();
    this.calls.rejectAll('this node has left its room');
    this.claim.release();
  }
}
