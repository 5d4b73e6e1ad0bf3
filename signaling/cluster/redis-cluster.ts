// One member of a signaling cluster over Redis (ioredis): presence with a TTL, cluster-wide
// admission and caps (scripts.ts), joins and leaves fanned out on one channel, and signals to
// the member that holds the receiver on a channel per member.
//
// Redis is never allowed to take the server down: every call is caught, counted and logged on a
// change of state only; while Redis is away the hub serves its local nodes on its own knowledge
// (admission 'unknown'), and when Redis answers again this member re-registers everything it
// holds (restoreScript) and announces it, since the others may have reaped it meanwhile.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { NodeId } from '../../src/core/types.ts';
import type { RoomKey } from '../rooms.ts';
import type { ClusterAdmission, ClusterBus, ClusterCaps, ClusterEvents, ClusterStats, LocalState, MemberView } from './bus.ts';
import { decodeBusMessage, maxChangesPerMessage, type BusMessage, type Change } from './messages.ts';
import * as scripts from './scripts.ts';
import { maxPeersInJoinSample } from '../protocol.ts';

/** A member refreshes its heartbeat key this often… */
export const memberHeartbeatMs = 1_000;
/** …which expires after this long: a dead process's nodes leave within about this time plus one sweep. */
export const memberTtlMs = 5_000;
/** Joins and leaves are gathered this long before one publish (the receivers batch again per room). */
export const changePublishWindowMs = 20;
/** Changes held while Redis is away, at most; beyond, the oldest go (re-registration repairs joins). */
const maxPendingChanges = 10_000;
/** How often a join whose id another member holds is asked about again (admitJoin). */
const idRetryMs = 250;
/** Members listed in /healthz, at most. */
const maxMembersShown = 64;

export interface RedisClusterOptions {
  url: string;
  caps: ClusterCaps;
  log: (line: string) => void;
  /** Test hooks: shorter heartbeats and TTL. */
  heartbeatMs?: number;
  ttlMs?: number;
}

type ScriptName = 'tmAdmit' | 'tmLeave' | 'tmTakeConn' | 'tmReleaseConn' | 'tmRelay' | 'tmReap' | 'tmRestore';
type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

export class RedisCluster implements ClusterBus {
  readonly memberId = randomBytes(9).toString('base64url');
  private readonly redis: Redis;
  private readonly sub: Redis;
  private readonly heartbeatMs: number;
  private readonly ttlMs: number;
  /** A member whose heartbeat key has less than this left missed two beats: its ids may be taken over. */
  private readonly presumedDeadBelowMs: number;
  private events: ClusterEvents | null = null;
  private localState: (() => LocalState) | null = null;
  private address = '';
  private readonly startedAt = new Date().toISOString();
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeatRunning = false;
  private pending: Change[] = [];
  /** Leaves on their way to Redis; close() waits for them so their announcements go out. */
  private readonly leaving = new Set<Promise<void>>();
  private publishTimer: ReturnType<typeof setTimeout> | null = null;
  /** Something failed while Redis was away: re-register at the next heartbeat that works. */
  private dirty = true;
  private connected = false;
  private closed = false;
  private members: MemberView[] = [];
  private readonly counters = { malformedBusMessages: 0, signalsOut: 0, signalsIn: 0, membersReaped: 0, reRegistrations: 0, redisErrors: 0 };

  constructor(private readonly options: RedisClusterOptions) {
    this.heartbeatMs = options.heartbeatMs ?? memberHeartbeatMs;
    this.ttlMs = options.ttlMs ?? memberTtlMs;
    this.presumedDeadBelowMs = Math.max(0, this.ttlMs - 2 * this.heartbeatMs);
    const common = {
      // Fail fast while Redis is away rather than queue: the hub goes on with local knowledge.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // Reconnect forever, at most a second apart: Redis coming back is noticed quickly.
      retryStrategy: (times: number) => Math.min(100 * times, 1_000),
      lazyConnect: true,
    };
    this.redis = new Redis(options.url, { ...common, connectionName: `tabmesh-${this.memberId}` });
    this.sub = new Redis(options.url, { ...common, autoResubscribe: false, connectionName: `tabmesh-sub-${this.memberId}` });
    const defs: [ScriptName, string][] = [
      ['tmAdmit', scripts.admitScript],
      ['tmLeave', scripts.leaveScript],
      ['tmTakeConn', scripts.takeConnectionScript],
      ['tmReleaseConn', scripts.releaseConnectionScript],
      ['tmRelay', scripts.relayScript],
      ['tmReap', scripts.reapScript],
      ['tmRestore', scripts.restoreScript],
    ];
    for (const [name, lua] of defs) this.redis.defineCommand(name, { numberOfKeys: 0, lua });
  }

  start(events: ClusterEvents, localState: () => LocalState): void {
    this.events = events;
    this.localState = localState;
    // Logged once per outage (ioredis reports every failed reconnect); 'ready' logs the return.
    let errorLogged = false;
    this.redis.on('error', (err: Error) => {
      if (errorLogged || this.closed) return;
      errorLogged = true;
      this.options.log(`cluster: Redis at ${redactUrl(this.options.url)} does not answer (${err.message}); serving local nodes only, retrying`);
    });
    this.sub.on('error', () => {});
    this.redis.on('ready', () => {
      if (!this.connected) this.options.log(`cluster: member ${this.memberId} connected to Redis at ${redactUrl(this.options.url)}`);
      this.connected = true;
      errorLogged = false;
      void this.heartbeat();
    });
    this.redis.on('close', () => {
      if (this.connected && !this.closed) this.options.log(`cluster: lost Redis at ${redactUrl(this.options.url)}; serving local nodes only, reconnecting`);
      this.connected = false;
      this.dirty = true;
    });
    // Subscriptions are made again on every connection (a restarted Redis knows none).
    this.sub.on('ready', () => {
      this.sub.subscribe(scripts.eventsChannel, scripts.memberChannel(this.memberId)).catch(() => this.counters.redisErrors++);
    });
    this.sub.on('message', (_channel: string, text: string) => this.onBusMessage(text));
    this.redis.connect().catch(() => {});
    this.sub.connect().catch(() => {});
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  setAddress(url: string): void {
    this.address = url;
  }

  async takeConnection(address: string): Promise<boolean | 'unknown'> {
    const taken = await this.call('tmTakeConn', this.memberId, address, this.options.caps.maxConnectionsPerAddress);
    return taken === undefined ? 'unknown' : taken === 1;
  }

  releaseConnection(address: string): void {
    void this.call('tmReleaseConn', this.memberId, address);
  }

  async admitJoin(key: RoomKey, id: NodeId, address: string, stillWanted: () => boolean): Promise<ClusterAdmission> {
    // Long enough for a member that died just after its heartbeat to count as dead.
    const until = performance.now() + this.ttlMs - this.presumedDeadBelowMs + this.heartbeatMs;
    for (;;) {
      const admission = await this.admitOnce(key, id, address);
      if (admission.ok !== false || admission.why !== 'id' || performance.now() >= until) return admission;
      await new Promise((resolve) => setTimeout(resolve, idRetryMs));
      if (!stillWanted()) return admission;
    }
  }

  private async admitOnce(key: RoomKey, id: NodeId, address: string): Promise<ClusterAdmission> {
    const caps = this.options.caps;
    const out = await this.call(
      'tmAdmit',
      this.memberId,
      key,
      id,
      address,
      caps.maxNodesPerRoom,
      caps.maxSeatsPerAddressPerRoom,
      caps.maxRoomsPerAddress,
      maxPeersInJoinSample,
      this.presumedDeadBelowMs,
    );
    if (!Array.isArray(out) || typeof out[0] !== 'string') return { ok: 'unknown' };
    const [verdict, ...peers] = out as string[];
    if (verdict === 'ok') return { ok: true, peers: peers as NodeId[] };
    if (verdict === 'id') return { ok: false, code: 'duplicate-id', why: 'id' };
    if (verdict === 'room') return { ok: false, code: 'room-full', why: 'room' };
    return { ok: false, code: 'address-quota', why: verdict === 'rooms' ? 'rooms' : 'seats' };
  }

  leave(key: RoomKey, id: NodeId, announce: boolean): void {
    const leaving = this.call('tmLeave', this.memberId, id).then((held) => {
      // 0: not ours any more (taken over, or never admitted); undefined: Redis away, tell anyway.
      if (announce && held !== 0) this.announce(key, id, 'left');
    });
    this.leaving.add(leaving);
    void leaving.finally(() => this.leaving.delete(leaving));
  }

  announce(key: RoomKey, id: NodeId, kind: 'joined' | 'left'): void {
    if (this.pending.length >= maxPendingChanges) this.pending.shift();
    this.pending.push({ key, id, kind });
    if (this.pending.length >= maxChangesPerMessage) return this.publishChanges();
    this.publishTimer ??= setTimeout(() => this.publishChanges(), changePublishWindowMs);
  }

  async relay(key: RoomKey, from: NodeId, to: NodeId, data: Record<string, unknown>): Promise<boolean | 'unknown'> {
    const message: BusMessage = { t: 'signal', key, from, to, data };
    const sent = await this.call('tmRelay', key, to, JSON.stringify(message));
    if (sent === undefined) return 'unknown';
    if (sent === 1) this.counters.signalsOut++;
    return sent === 1;
  }

  stats(): ClusterStats {
    return { member: this.memberId, connected: this.connected, members: this.members, ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await Promise.all([...this.leaving]);
    if (this.publishTimer) clearTimeout(this.publishTimer);
    this.publishTimer = null;
    // A clean exit: leave at once rather than wait for the TTL (the hub already announced the leaves).
    this.flushChanges();
    if (this.connected) {
      await this.redis.del(scripts.memberKey(this.memberId)).catch(() => {});
      await this.call('tmReap', this.memberId, maxChangesPerMessage);
    }
    this.redis.disconnect();
    this.sub.disconnect();
  }

  private publishChanges(): void {
    if (this.publishTimer) clearTimeout(this.publishTimer);
    this.publishTimer = null;
    this.flushChanges();
  }

  private flushChanges(): void {
    while (this.pending.length > 0 && this.connected) {
      const batch = this.pending.splice(0, maxChangesPerMessage);
      const message: BusMessage = { t: 'changes', from: this.memberId, changes: batch };
      this.redis.publish(scripts.eventsChannel, JSON.stringify(message)).catch(() => {
        this.counters.redisErrors++;
        this.dirty = true;
      });
    }
  }

  private onBusMessage(text: string): void {
    const events = this.events;
    if (!events) return;
    const decoded = decodeBusMessage(text);
    if (!decoded.ok) {
      this.counters.malformedBusMessages++;
      if (this.counters.malformedBusMessages <= 10) this.options.log(`cluster: dropped a malformed bus message (${decoded.error})`);
      return;
    }
    const msg = decoded.value;
    switch (msg.t) {
      case 'changes':
        if (msg.from === this.memberId) return;
        for (const change of msg.changes) {
          if (change.kind === 'joined') events.joined(change.key as RoomKey, change.id as NodeId);
          else events.left(change.key as RoomKey, change.id as NodeId);
        }
        return;
      case 'reaped':
        if (msg.member === this.memberId) {
          // Taken for dead (Redis was slow, or we were cut off): our nodes are gone from Redis.
          this.dirty = true;
          return;
        }
        for (const [key, id] of msg.nodes) events.left(key as RoomKey, id as NodeId);
        return;
      case 'signal':
        this.counters.signalsIn++;
        events.signal(msg.key as RoomKey, msg.from as NodeId, msg.to as NodeId, msg.data);
        return;
    }
  }

  /** Heartbeat, re-registration when needed, and the sweep for dead members. */
  private async heartbeat(): Promise<void> {
    if (this.heartbeatRunning || this.closed || !this.localState) return;
    this.heartbeatRunning = true;
    try {
      const state = this.localState();
      const info = JSON.stringify({ address: this.address, startedAt: this.startedAt, at: new Date().toISOString(), ...state.load });
      const previous = await this.redis.set(scripts.memberKey(this.memberId), info, 'PX', this.ttlMs, 'GET');
      await this.redis.sadd(scripts.membersKey, this.memberId);
      if (previous === null || this.dirty) await this.reRegister(state);
      this.flushChanges();
      await this.sweep();
    } catch {
      this.counters.redisErrors++;
      this.dirty = true;
    } finally {
      this.heartbeatRunning = false;
    }
  }

  private async reRegister(state: LocalState): Promise<void> {
    const payload = JSON.stringify({ nodes: state.nodes.map((n) => [n.id, n.key, n.address]), connections: state.connections });
    const ids = (await this.fn('tmRestore')(this.memberId, payload)) as string[];
    this.dirty = false;
    if (state.nodes.length > 0 || this.counters.reRegistrations > 0) {
      this.counters.reRegistrations++;
      this.options.log(`cluster: member ${this.memberId} registered ${ids.length} of its ${state.nodes.length} nodes in Redis`);
    }
    // Others may have announced them as left (reaped), or never heard of them (Redis restarted).
    const registered = new Set(ids);
    for (const node of state.nodes) if (registered.has(node.id)) this.announce(node.key, node.id, 'joined');
  }

  private async sweep(): Promise<void> {
    const ids = await this.redis.smembers(scripts.membersKey);
    const values = ids.length > 0 ? await this.redis.mget(ids.map(scripts.memberKey)) : [];
    const views: MemberView[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as string;
      const value = values[i];
      if (value === null || value === undefined) {
        const reaped = await this.fn('tmReap')(id, maxChangesPerMessage);
        if (typeof reaped === 'number' && reaped >= 0) {
          this.counters.membersReaped++;
          this.options.log(`cluster: member ${id} stopped answering; its ${reaped} nodes were announced as left`);
        }
        continue;
      }
      if (views.length < maxMembersShown) views.push(memberView(id, value, id === this.memberId));
    }
    this.members = views;
  }

  private fn(name: ScriptName): ScriptCall {
    return (this.redis as unknown as Record<ScriptName, ScriptCall>)[name].bind(this.redis);
  }

  /** A script call that never throws: undefined when Redis did not answer. */
  private async call(name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    if (!this.connected) {
      this.counters.redisErrors++;
      this.dirty = true;
      return undefined;
    }
    try {
      return await this.fn(name)(...args);
    } catch {
      this.counters.redisErrors++;
      this.dirty = true;
      return undefined;
    }
  }
}

/** Another member's heartbeat, read defensively: it is input from outside this process. */
function memberView(id: string, text: string, self: boolean): MemberView {
  let raw: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object') raw = parsed as Record<string, unknown>;
  } catch {
    /* shown with what is known */
  }
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);
  const str = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 200) : '');
  return { id, address: str(raw.address), lastHeartbeat: str(raw.at), connections: num(raw.connections), rooms: num(raw.rooms), nodes: num(raw.nodes), self };
}

/** A Redis URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return '(unparseable URL)';
  }
}
