// The member table: what this node believes about the members it holds, under SWIM's
// precedence rules, plus the list of members it may contact (kept incrementally: picking random
// contacts at 1,000+ members must not scan the table) and an order-independent hash of the table
// that two nodes compare to learn cheaply whether their lists differ.
//
// The table holds at most `viewSize` live members (self and direct links always, beyond it): in
// a room up to that size it holds everyone, as SWIM assumes; in a larger room it is a random
// sample of the room, kept fresh by the samples that ride on syncs (core.ts "Large rooms"), and
// a sampled member makes room for a newer one by being dropped from the table (`evictRandom`).
// Dead and departed members are kept apart from that bound (until deadRetentionMs), so a death
// is known, and passed on once, by every node that hears of it.
import { hashString, type Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import { statusCodes, type MemberFact, type MemberStatus } from './messages.ts';

export interface Member {
  readonly id: NodeId;
  incarnation: number;
  status: MemberStatus;
  /** Local time of the last change of status or incarnation. */
  changedAt: Millis;
  /** Local time of the last sign of life (a message from it, an ack for it). */
  heardAt: Millis;
  /** Hash of the id, computed once (for the table hash). */
  readonly idHash: number;
}

/**
 * Whether a claim (incarnation, status) replaces what we hold. Only the member itself raises
 * its incarnation, so a higher incarnation always wins; at the same incarnation the worse news
 * wins (alive < suspect < dead < left), so an old "alive" can never undo a suspicion — only
 * the member's refutation with a higher incarnation can.
 */
export function supersedes(incarnation: number, status: MemberStatus, current: Pick<Member, 'incarnation' | 'status'>): boolean {
  if (incarnation !== current.incarnation) return incarnation > current.incarnation;
  return statusCodes[status] > statusCodes[current.status];
}

export const isLive = (status: MemberStatus): boolean => status === 'alive' || status === 'suspect';

/** Alive and suspect hash alike, so passing suspicions do not make two tables look different. */
function memberHash(m: Pick<Member, 'idHash' | 'incarnation' | 'status'>): number {
  const cls = isLive(m.status) ? 0 : m.status === 'dead' ? 1 : 2;
  let h = m.idHash ^ Math.imul(m.incarnation + 1, 0x9e3779b1) ^ Math.imul(cls + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

export type ApplyOutcome = { changed: false } | { changed: true; previous: { status: MemberStatus; incarnation: number } | null };

/** A set of ids with O(1) add, delete and random choice (swap-remove over an array). */
class IdList {
  readonly items: NodeId[] = [];
  private readonly index = new Map<NodeId, number>();

  get size(): number {
    return this.items.length;
  }

  /** Puts `id` in or out of the list. */
  set(id: NodeId, member: boolean): void {
    const at = this.index.get(id);
    if (member && at === undefined) {
      this.index.set(id, this.items.length);
      this.items.push(id);
    } else if (!member && at !== undefined) {
      const last = this.items.pop() as NodeId;
      if (last !== id) {
        this.items[at] = last;
        this.index.set(last, at);
      }
      this.index.delete(id);
    }
  }
}

export class MemberTable {
  private readonly map = new Map<NodeId, Member>();
  /** Members we may send to, for O(1) random choice. */
  private readonly contactList = new IdList();
  /** Alive members that may give way to a newer sample: not self, not a direct link ('peers' mode). */
  private readonly sampled = new IdList();
  /** Dead and departed members, for expiry and reconnect attempts (usually few). */
  private readonly gone = new Set<NodeId>();
  private readonly peerSet = new Set<NodeId>();
  private hashSum = 0;
  private liveMembers = 0;

  constructor(
    readonly self: NodeId,
    private readonly mode: 'peers' | 'members',
    /** Most live members held (self and direct links are held beyond it). */
    readonly viewSize: number,
  ) {}

  /**
   * The table holds as many live members as it may: the room may be larger than what we know
   * of it (a partial view). Below it, the table is taken to hold the whole room.
   */
  get full(): boolean {
    return this.liveMembers >= this.viewSize;
  }

  get size(): number {
    return this.map.size;
  }

  /** Members believed alive or suspect, this node included: the n of SWIM's formulas. */
  get liveCount(): number {
    return this.liveMembers;
  }

  get hash(): number {
    return this.hashSum >>> 0;
  }

  get(id: NodeId): Member | undefined {
    return this.map.get(id);
  }

  all(): IterableIterator<Member> {
    return this.map.values();
  }

  contacts(): readonly NodeId[] {
    return this.contactList.items;
  }

  goneIds(): IterableIterator<NodeId> {
    return this.gone.values();
  }

  isPeer(id: NodeId): boolean {
    return this.peerSet.has(id);
  }

  peers(): IterableIterator<NodeId> {
    return this.peerSet.values();
  }

  /**
   * Applies a claim about a member other than self (the core handles claims about itself).
   * Unknown members are added as claimed.
   */
  apply(id: NodeId, incarnation: number, status: MemberStatus, now: Millis): ApplyOutcome {
    const current = this.map.get(id);
    if (!current) {
      this.insert({ id, incarnation, status, changedAt: now, heardAt: now, idHash: hashString(id) });
      return { changed: true, previous: null };
    }
    if (!supersedes(incarnation, status, current)) return { changed: false };
    const previous = { status: current.status, incarnation: current.incarnation };
    this.update(current, incarnation, status, now);
    return { changed: true, previous };
  }

  /** Sets a member's state outright (used for self, whose incarnation only we decide). */
  set(id: NodeId, incarnation: number, status: MemberStatus, now: Millis): void {
    const current = this.map.get(id);
    if (current) this.update(current, incarnation, status, now);
    else this.insert({ id, incarnation, status, changedAt: now, heardAt: now, idHash: hashString(id) });
  }

  forget(id: NodeId): void {
    const member = this.map.get(id);
    if (!member) return;
    this.account(member, -1);
    this.map.delete(id);
    this.gone.delete(id);
    this.refreshContact(id);
  }

  setPeer(id: NodeId, linked: boolean): void {
    if (linked) this.peerSet.add(id);
    else this.peerSet.delete(id);
    this.refreshContact(id);
  }

  /**
   * Drops one random sampled member (alive, not a direct link) to make room for a newer one;
   * returns its id, or undefined when every live member is self, a link or a suspect.
   */
  evictRandom(rng: Rng): NodeId | undefined {
    const id = rng.pick(this.sampled.items);
    if (id !== undefined) this.forget(id);
    return id;
  }

  /** Up to `count` distinct random alive members (never self) as wire facts: the sample a sync carries. */
  sample(rng: Rng, count: number): MemberFact[] {
    return pickDistinct(rng, this.sampled.items, count).map((id) => {
      const m = this.map.get(id) as Member;
      return [m.id, m.incarnation, statusCodes[m.status]] as MemberFact;
    });
  }

  /** Up to `count` distinct random contacts, none of them in `exclude`. */
  randomContacts(rng: Rng, count: number, exclude?: ReadonlySet<NodeId> | NodeId): NodeId[] {
    const excluded = (id: NodeId): boolean => (typeof exclude === 'string' ? id === exclude : (exclude?.has(id) ?? false));
    return pickDistinct(rng, this.contactList.items, count, excluded);
  }

  /** Every member as a wire fact, in id order (for a full member-list exchange). */
  facts(): MemberFact[] {
    return [...this.map.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((m) => [m.id, m.incarnation, statusCodes[m.status]] as MemberFact);
  }

  private insert(member: Member): void {
    this.map.set(member.id, member);
    this.account(member, 1);
    if (!isLive(member.status)) this.gone.add(member.id);
    this.refreshContact(member.id);
  }

  private update(member: Member, incarnation: number, status: MemberStatus, now: Millis): void {
    this.account(member, -1);
    member.incarnation = incarnation;
    member.status = status;
    member.changedAt = now;
    this.account(member, 1);
    if (isLive(status)) this.gone.delete(member.id);
    else this.gone.add(member.id);
    this.refreshContact(member.id);
  }

  private account(member: Member, sign: 1 | -1): void {
    this.hashSum = (this.hashSum + sign * memberHash(member)) >>> 0;
    if (isLive(member.status)) this.liveMembers += sign;
  }

  private refreshContact(id: NodeId): void {
    const member = this.map.get(id);
    const live = id !== this.self && member !== undefined && isLive(member.status);
    const linked = this.peerSet.has(id);
    this.contactList.set(id, live && (this.mode === 'members' || linked));
    this.sampled.set(id, live && member?.status === 'alive' && !(this.mode === 'peers' && linked));
  }
}

/** Up to `count` distinct random items of `list` that `excluded` does not reject. */
function pickDistinct(rng: Rng, list: readonly NodeId[], count: number, excluded: (id: NodeId) => boolean = () => false): NodeId[] {
  if (list.length <= count * 3 + 4) return rng.shuffle(list.filter((id) => !excluded(id))).slice(0, count);
  const chosen = new Set<NodeId>();
  for (let attempts = 0; chosen.size < count && attempts < count * 20; attempts++) {
    const id = list[rng.int(list.length)] as NodeId;
    if (!excluded(id)) chosen.add(id);
  }
  return [...chosen];
}
