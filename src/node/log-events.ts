// What the Node peer tells its operator, as events. Most are derived by comparing successive
// snapshots of the runtime (the same snapshots a tab's UI draws), so the log says exactly what
// a tab would show: signaling state, links up and down with their round-trip times, members
// turning alive / suspect / dead / left, memory keys changing, input refused. In a room larger
// than gossip's member table the table is a rotating sample (src/worker/services/member-table.ts):
// the log says so once, and does not report members entering or leaving the sample.
// log-format.ts turns an event into a readable line or a JSON line.
import type { LinkView, MessageView } from '../worker/snapshot.ts';
import type { LinkFailureView } from '../worker/link-failures.ts';
import { decodeMemberTable, type MemberTableView } from '../worker/services/member-table.ts';

export type MemberStatus = 'alive' | 'suspect' | 'dead' | 'left';

export type LogEvent =
  | { event: 'starting'; room: string; signal: string; signalingUrl: string; dataDir: string }
  | { event: 'ready'; id: string; room: string; identity: string; services: string[] }
  | { event: 'note'; message: string }
  | { event: 'ice-servers'; source: 'flag' | 'server' | 'none'; count: number; detail: string }
  | { event: 'signaling'; status: string; detail: string }
  | { event: 'signaling-notice'; code: string; message: string }
  | { event: 'link-up'; peer: string; rttMs: number | null; initiator: boolean }
  | { event: 'link-down'; peer: string; lastRttMs: number | null; upForMs: number }
  /** A link attempt failed (state 'retrying'), or the node stopped trying (state 'unreachable'). */
  | ({ event: 'link-failed' } & Omit<LinkFailureView, 'at'>)
  | { event: 'member'; peer: string; status: MemberStatus; previous: MemberStatus | null; incarnation: number }
  | { event: 'member-forgotten'; peer: string }
  /** The member table became a sample of a larger room (`sampled`), or holds the whole room again. */
  | ({ event: 'member-table' } & MemberTableView)
  | { event: 'memory-set'; key: string; value: unknown; origin: string; hlc: string }
  | { event: 'memory-deleted'; key: string }
  | { event: 'memory-more'; count: number }
  | { event: 'refused'; reason: string; count: number; total: number }
  | { event: 'refused-more'; count: number }
  | { event: 'message'; from: string; text: string }
  | {
      event: 'status';
      signaling: string;
      links: Array<{ peer: string; rttMs: number | null }>;
      membersAlive: number;
      members: number;
      /**
       * When the members counted are a sample of a larger room: the room's size known at least
       * (the live members held). null for a table that holds the whole room, or does not say.
       */
      roomAtLeast: number | null;
      keys: number;
    }
  | { event: 'storage-problem'; message: string }
  | { event: 'leaving'; reason: string }
  | { event: 'stopped'; reason: string; exitCode: number }
  | { event: 'error'; message: string };

/** Memory changes logged one by one per snapshot; the rest are counted in one 'memory-more'. */
export const maxMemoryEventsPerSnapshot = 20;
/** Refusal reasons logged one by one per snapshot; the rest are counted in one 'refused-more'. */
export const maxRefusalEventsPerSnapshot = 10;
/** A new link is logged once its first round trip is measured, or after this long without one. */
export const linkRttWaitMs = 3_000;

/** The parts of a snapshot the log reads (the runtime's part and the gossip service's part). */
export interface LoggedSnapshot {
  id: string;
  signaling: string;
  signalingDetail: string;
  /** The server's notice about the room (a private room of its name, a password nobody uses). */
  signalingNotice?: { code: string; message: string } | null;
  links: LinkView[];
  /** Absent in snapshots of older nodes. */
  linkFailures?: LinkFailureView[];
  messages: MessageView[];
  rejected: Record<string, number>;
  members?: unknown;
  /** Whether `members` is a sample of a larger room (absent in snapshots of older nodes). */
  memberTable?: unknown;
  memoryEntries?: unknown;
  gossip?: unknown;
}

interface MemberSeen {
  status: MemberStatus;
  incarnation: number;
}

/** Turns successive snapshots into log events. One per node; feed it every snapshot in order. */
export class SnapshotLog {
  private links = new Map<string, LinkView>();
  private readonly announced = new Set<string>();
  private members = new Map<string, MemberSeen>();
  /** Whether the member table was last seen as a sample (logged when it changes). */
  private sampled = false;
  /** Snapshots whose member table did not decode (refused, counted, read as the whole room). */
  private badMemberTables = 0;
  private memory = new Map<string, string>();
  private refusals = new Map<string, number>();
  private lastMessageSeq = 0;
  /** Per peer, the failure last logged (attempts and state), so each is logged once. */
  private failures = new Map<string, string>();
  private signaling = '';
  private signalingDetail = '';
  private signalingNotice: string | null = null;

  next(snapshot: LoggedSnapshot): LogEvent[] {
    const events: LogEvent[] = [];
    this.diffSignaling(snapshot, events);
    this.diffNotice(snapshot, events);
    this.diffLinks(snapshot, events);
    this.diffFailures(snapshot, events);
    this.diffMembers(snapshot, events);
    this.diffMemory(snapshot, events);
    this.diffRefusals(snapshot, events);
    this.diffMessages(snapshot, events);
    return events;
  }

  private diffSignaling(s: LoggedSnapshot, out: LogEvent[]): void {
    if (s.signaling === this.signaling && s.signalingDetail === this.signalingDetail) return;
    this.signaling = s.signaling;
    this.signalingDetail = s.signalingDetail;
    out.push({ event: 'signaling', status: s.signaling, detail: s.signalingDetail });
  }

  private diffNotice(s: LoggedSnapshot, out: LogEvent[]): void {
    const notice = s.signalingNotice ?? null;
    const key = notice ? `${notice.code}\n${notice.message}` : null;
    if (key === this.signalingNotice) return;
    this.signalingNotice = key;
    if (notice) out.push({ event: 'signaling-notice', code: notice.code, message: notice.message });
  }

  private diffLinks(s: LoggedSnapshot, out: LogEvent[]): void {
    const now = new Map(s.links.map((l) => [l.peer, l]));
    for (const [peer, before] of this.links) {
      const after = now.get(peer);
      // Gone, or replaced by a younger link to the same peer (it went down and up in between).
      if (!after || after.upForMs < before.upForMs) {
        out.push({ event: 'link-down', peer, lastRttMs: before.rttMs, upForMs: before.upForMs });
        this.announced.delete(peer);
      }
    }
    for (const link of s.links) {
      if (this.announced.has(link.peer)) continue;
      if (link.rttMs !== null || link.upForMs >= linkRttWaitMs) {
        out.push({ event: 'link-up', peer: link.peer, rttMs: link.rttMs, initiator: link.initiator });
        this.announced.add(link.peer);
      }
    }
    this.links = now;
  }

  private diffFailures(s: LoggedSnapshot, out: LogEvent[]): void {
    const now = new Map<string, string>();
    for (const { at: _at, ...failure } of s.linkFailures ?? []) {
      const key = `${failure.attempts}/${failure.state}`;
      now.set(failure.peer, key);
      if (this.failures.get(failure.peer) !== key) out.push({ event: 'link-failed', ...failure });
    }
    this.failures = now;
  }

  private diffMembers(s: LoggedSnapshot, out: LogEvent[]): void {
    const members = readMembers(s.members);
    if (!members) return;
    const table = this.readTable(s, out);
    const sampled = table?.sampled ?? false;
    if (table && sampled !== this.sampled) out.push({ event: 'member-table', ...table });
    this.sampled = sampled;
    const now = new Map<string, MemberSeen>();
    for (const m of members) {
      now.set(m.id, { status: m.status, incarnation: m.incarnation });
      if (m.id === s.id) continue;
      const before = this.members.get(m.id);
      // A live member new to a sample has entered the sample, not the room: not news.
      if (!before && sampled && m.status === 'alive') continue;
      if (!before || before.status !== m.status) {
        out.push({ event: 'member', peer: m.id, status: m.status, previous: before?.status ?? null, incarnation: m.incarnation });
      }
    }
    for (const [peer, before] of this.members) {
      if (now.has(peer) || peer === s.id) continue;
      // A live member gone from a sample has rotated out of it: it has not left the room.
      if (sampled && (before.status === 'alive' || before.status === 'suspect')) continue;
      out.push({ event: 'member-forgotten', peer });
    }
    this.members = now;
  }

  /** The snapshot's member table, or null when absent (an older node) or refused (logged and counted). */
  private readTable(s: LoggedSnapshot, out: LogEvent[]): MemberTableView | null {
    if (s.memberTable === undefined) return null;
    const decoded = decodeMemberTable(s.memberTable);
    if (decoded.ok) return decoded.value;
    this.badMemberTables++;
    out.push({ event: 'refused', reason: `member table in snapshot: ${decoded.error}`, count: 1, total: this.badMemberTables });
    return null;
  }

  private diffMemory(s: LoggedSnapshot, out: LogEvent[]): void {
    const entries = readMemory(s.memoryEntries);
    if (!entries) return;
    const now = new Map<string, string>();
    let logged = 0;
    let more = 0;
    const note = (event: LogEvent) => {
      if (logged < maxMemoryEventsPerSnapshot) {
        out.push(event);
        logged++;
      } else more++;
    };
    for (const e of entries) {
      now.set(e.key, e.hlc);
      if (this.memory.get(e.key) !== e.hlc) note({ event: 'memory-set', key: e.key, value: e.value, origin: e.origin, hlc: e.hlc });
    }
    for (const key of this.memory.keys()) if (!now.has(key)) note({ event: 'memory-deleted', key });
    if (more > 0) out.push({ event: 'memory-more', count: more });
    this.memory = now;
  }

  private diffRefusals(s: LoggedSnapshot, out: LogEvent[]): void {
    const totals: Array<[string, number]> = Object.entries(s.rejected);
    const gossipRejected = readCounts((s.gossip as { rejected?: unknown } | undefined)?.rejected);
    for (const [reason, total] of Object.entries(gossipRejected)) totals.push([`gossip: ${reason}`, total]);
    let logged = 0;
    let more = 0;
    for (const [reason, total] of totals) {
      const before = this.refusals.get(reason) ?? 0;
      if (typeof total !== 'number' || total <= before) continue;
      this.refusals.set(reason, total);
      if (logged < maxRefusalEventsPerSnapshot) {
        out.push({ event: 'refused', reason, count: total - before, total });
        logged++;
      } else more += total - before;
    }
    if (more > 0) out.push({ event: 'refused-more', count: more });
  }

  private diffMessages(s: LoggedSnapshot, out: LogEvent[]): void {
    for (const m of s.messages) {
      if (m.seq <= this.lastMessageSeq) continue;
      out.push({ event: 'message', from: m.from, text: m.text });
      this.lastMessageSeq = m.seq;
    }
  }
}

/** A one-line summary of a snapshot, logged now and then so a quiet node still shows it lives. */
export function statusEvent(s: LoggedSnapshot): LogEvent {
  const members = readMembers(s.members) ?? [];
  const table = s.memberTable === undefined ? null : decodeMemberTable(s.memberTable);
  return {
    event: 'status',
    signaling: s.signaling,
    links: s.links.map((l) => ({ peer: l.peer, rttMs: l.rttMs })),
    membersAlive: members.filter((m) => m.status === 'alive').length,
    members: members.length,
    roomAtLeast: table?.ok === true && table.value.sampled ? table.value.live : null,
    keys: readMemory(s.memoryEntries)?.length ?? 0,
  };
}

// The service parts of a snapshot are typed loosely (services add them); read them with care.

const statuses: ReadonlySet<string> = new Set(['alive', 'suspect', 'dead', 'left']);

function readMembers(raw: unknown): Array<{ id: string; status: MemberStatus; incarnation: number }> | null {
  if (!Array.isArray(raw)) return null;
  const out: Array<{ id: string; status: MemberStatus; incarnation: number }> = [];
  for (const m of raw as Array<Record<string, unknown>>) {
    if (m && typeof m.id === 'string' && typeof m.status === 'string' && statuses.has(m.status)) {
      out.push({ id: m.id, status: m.status as MemberStatus, incarnation: typeof m.incarnation === 'number' ? m.incarnation : 0 });
    }
  }
  return out;
}

function readMemory(raw: unknown): Array<{ key: string; value: unknown; origin: string; hlc: string }> | null {
  if (!Array.isArray(raw)) return null;
  const out: Array<{ key: string; value: unknown; origin: string; hlc: string }> = [];
  for (const e of raw as Array<Record<string, unknown>>) {
    if (e && typeof e.key === 'string' && typeof e.hlc === 'string') out.push({ key: e.key, value: e.value, origin: String(e.origin), hlc: e.hlc });
  }
  return out;
}

function readCounts(raw: unknown): Record<string, number> {
  if (!raw || typeof raw !== 'object') return {};
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(raw as Record<string, unknown>)) if (typeof n === 'number') out[k] = n;
  return out;
}
