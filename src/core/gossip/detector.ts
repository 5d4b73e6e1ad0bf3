// SWIM failure detection with Lifeguard's local health awareness.
//
// Each protocol period one member is pinged (round robin over a shuffled list, so every member
// is probed within n periods). No ack within the probe timeout → a second direct ping and
// ping-reqs through k helpers; still nothing when the indirect timeout ends → the member is
// suspected. Only a node whose own probe failed runs a suspicion timer and may declare death;
// the suspect is told at once (and again each period — Lifeguard's "buddy system") so it can
// refute by raising its incarnation before the timer ends.
//
// Local health (Lifeguard): a score 0…maxLocalHealth that rises when our probes fail, when
// helpers do not even nack (the problem is likely on our side), and when we must refute a
// suspicion of ourselves; it falls with each successful probe. Probe intervals and timeouts
// are multiplied by (score + 1), so a node that is slow itself waits longer before accusing
// others instead of accusing the healthy. In the same spirit, a failed probe accuses only if
// at least one helper nacked (confirmed it could not reach the target either).
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import { maxPendingRelays, maxSuspectNoticesPerProbe, type GossipConfig } from './config.ts';
import { isLive, type MemberTable } from './members.ts';
import { statusCodes, type GossipMsg, type MemberFact } from './messages.ts';

export interface DetectorHost {
  readonly self: NodeId;
  readonly config: GossipConfig;
  readonly rng: Rng;
  readonly members: MemberTable;
  send(to: NodeId, msg: GossipMsg): void;
  /** Rumours to piggyback on a message to `to` (news about `to` first). */
  piggyback(to: NodeId): MemberFact[] | undefined;
  /** Our probe of `target` failed: mark it suspect (returns false if that no longer applies). */
  suspect(target: NodeId, now: Millis): boolean;
  /** Our suspicion timer for `target` at `incarnation` ran out without a refutation. */
  declareDead(target: NodeId, incarnation: number, now: Millis): void;
  heard(id: NodeId, now: Millis): void;
  refused(reason: string): void;
}

interface Probe {
  seq: number;
  target: NodeId;
  directDeadline: Millis;
  finalDeadline: Millis;
  indirectSent: boolean;
  helpers: NodeId[];
  nacks: Set<NodeId>;
}

interface Relay {
  requester: NodeId;
  requesterSeq: number;
  target: NodeId;
  deadline: Millis;
}

interface Suspicion {
  incarnation: number;
  since: Millis;
  deadline: Millis;
}

export interface DetectorStats {
  probes: number;
  probeFailures: number;
  suspicionsRaised: number;
  deathsDeclared: number;
  lateAcks: number;
  /** Failed probes that raised no suspicion because no helper answered either. */
  withheld: number;
}

export class Detector {
  private probe: Probe | undefined;
  private readonly relays = new Map<number, Relay>();
  private readonly suspicions = new Map<NodeId, Suspicion>();
  private order: NodeId[] = [];
  private orderIndex = 0;
  private seq = 0;
  private nextProbeAt: Millis;
  /** Lifeguard's local health multiplier score. */
  health = 0;
  readonly stats: DetectorStats = { probes: 0, probeFailures: 0, suspicionsRaised: 0, deathsDeclared: 0, lateAcks: 0, withheld: 0 };

  constructor(
    private readonly host: DetectorHost,
    now: Millis,
  ) {
    // Start at a random point of the first period so nodes do not probe in lockstep.
    this.nextProbeAt = now + host.rng.int(host.config.probeIntervalMs);
  }

  private get scale(): number {
    return this.health + 1;
  }

  /** Suspicion timeout: grows with log n, as in memberlist, so larger clusters have time to refute. */
  suspicionTimeoutMs(): Millis {
    const n = Math.max(10, this.host.members.liveCount);
    return Math.round(this.host.config.suspicionMult * Math.log10(n) * this.host.config.probeIntervalMs);
  }

  nextWakeAt(): Millis {
    let at = this.nextProbeAt;
    if (this.probe) at = Math.min(at, this.probe.indirectSent ? this.probe.finalDeadline : this.probe.directDeadline);
    for (const relay of this.relays.values()) at = Math.min(at, relay.deadline);
    for (const s of this.suspicions.values()) at = Math.min(at, s.deadline);
    return at;
  }

  tick(now: Millis): void {
    this.expireRelays(now);
    this.advanceProbe(now);
    this.expireSuspicions(now);
    if (now >= this.nextProbeAt) {
      this.nextProbeAt = now + this.host.config.probeIntervalMs * this.scale;
      this.noticeSuspects();
      if (!this.probe) this.startProbe(this.nextTarget(), now, true);
    }
  }

  /**
   * A hint that `target` may be gone (its data channel closed): probe it now instead of
   * waiting for its turn. With no direct path left, go straight to the indirect probe.
   */
  probeNow(target: NodeId, now: Millis, direct: boolean): void {
    const member = this.host.members.get(target);
    if (!member || !isLive(member.status) || this.probe) return;
    this.startProbe(target, now, direct);
  }

  onAck(from: NodeId, seq: number, now: Millis): void {
    this.host.heard(from, now);
    const probe = this.probe;
    if (probe && seq === probe.seq) {
      if (from !== probe.target) {
        this.host.refused('wrong-sender');
        return;
      }
      this.succeed(now);
      return;
    }
    const relay = this.relays.get(seq);
    if (relay) {
      if (from !== relay.target) {
        this.host.refused('wrong-sender');
        return;
      }
      this.relays.delete(seq);
      this.host.send(relay.requester, { type: 'indirect-ack', seq: relay.requesterSeq, target: relay.target });
      return;
    }
    this.stats.lateAcks++;
  }

  onIndirectAck(from: NodeId, seq: number, target: NodeId, now: Millis): void {
    const probe = this.probe;
    if (!probe || seq !== probe.seq || target !== probe.target) {
      this.stats.lateAcks++;
      return;
    }
    if (!probe.helpers.includes(from)) {
      this.host.refused('wrong-sender');
      return;
    }
    this.host.heard(target, now);
    this.succeed(now);
  }

  onNack(from: NodeId, seq: number, target: NodeId): void {
    const probe = this.probe;
    if (probe && seq === probe.seq && target === probe.target && probe.helpers.includes(from)) probe.nacks.add(from);
  }

  onPingReq(from: NodeId, seq: number, target: NodeId, now: Millis): void {
    if (target === this.host.self) {
      this.host.refused('malformed');
      return;
    }
    // In 'members' mode any node can be reached, also one outside our table (a large room's
    // tables are samples): relay the ping rather than answer "unreachable", which would count
    // as a helper confirming the target's silence.
    const reachable = this.host.config.contactMode === 'members' || this.host.members.isPeer(target);
    if (!reachable) {
      this.host.send(from, { type: 'nack', seq, target });
      return;
    }
    if (this.relays.size >= maxPendingRelays) {
      this.host.refused('relay-full');
      return;
    }
    const relaySeq = ++this.seq;
    this.relays.set(relaySeq, { requester: from, requesterSeq: seq, target, deadline: now + this.host.config.probeTimeoutMs * this.scale });
    this.host.send(target, withFacts({ type: 'ping', seq: relaySeq }, this.host.piggyback(target)));
  }

  /** Our own suspicion of `target` is over (it refuted, or it is dead or gone). */
  clearSuspicion(target: NodeId): void {
    this.suspicions.delete(target);
  }

  suspicionStartedAt(target: NodeId): Millis | undefined {
    return this.suspicions.get(target)?.since;
  }

  /** Called by the host when it has marked `target` suspect because our probe failed. */
  startSuspicion(target: NodeId, incarnation: number, now: Millis): void {
    if (this.suspicions.has(target)) return;
    this.suspicions.set(target, { incarnation, since: now, deadline: now + this.suspicionTimeoutMs() });
    this.stats.suspicionsRaised++;
  }

  /** Lifeguard: having to refute a suspicion of ourselves hints that we are the slow one. */
  raiseHealth(by = 1): void {
    this.health = Math.min(this.host.config.maxLocalHealth, this.health + by);
  }

  get pendingRelays(): number {
    return this.relays.size;
  }

  get ownSuspicions(): number {
    return this.suspicions.size;
  }

  private lowerHealth(): void {
    this.health = Math.max(0, this.health - 1);
  }

  private nextTarget(): NodeId | undefined {
    const contacts = this.host.members.contacts();
    if (contacts.length === 0) return undefined;
    for (let tries = 0; tries <= contacts.length + 1; tries++) {
      if (this.orderIndex >= this.order.length) {
        this.order = this.host.rng.shuffle(contacts);
        this.orderIndex = 0;
      }
      const id = this.order[this.orderIndex++] as NodeId;
      const member = this.host.members.get(id);
      if (member && isLive(member.status) && id !== this.host.self && this.isContact(id)) return id;
    }
    return undefined;
  }

  private isContact(id: NodeId): boolean {
    return this.host.config.contactMode === 'members' || this.host.members.isPeer(id);
  }

  private startProbe(target: NodeId | undefined, now: Millis, direct: boolean): void {
    if (target === undefined) return;
    const seq = ++this.seq;
    const timeout = this.host.config.probeTimeoutMs * this.scale;
    this.probe = {
      seq,
      target,
      directDeadline: direct ? now + timeout : now,
      finalDeadline: (direct ? now + timeout : now) + this.host.config.indirectTimeoutMs * this.scale,
      indirectSent: false,
      helpers: [],
      nacks: new Set(),
    };
    this.stats.probes++;
    if (direct) this.host.send(target, withFacts({ type: 'ping', seq }, this.host.piggyback(target)));
    else this.advanceProbe(now);
  }

  private advanceProbe(now: Millis): void {
    const probe = this.probe;
    if (!probe) return;
    if (!probe.indirectSent && now >= probe.directDeadline) {
      probe.indirectSent = true;
      probe.helpers = this.host.members.randomContacts(this.host.rng, this.host.config.indirectProbes, probe.target);
      for (const helper of probe.helpers) this.host.send(helper, { type: 'ping-req', seq: probe.seq, target: probe.target });
      // A second direct try alongside the helpers (memberlist's fallback): a single lost
      // packet should not be enough to start a suspicion.
      if (this.isContact(probe.target)) this.host.send(probe.target, withFacts({ type: 'ping', seq: probe.seq }, this.host.piggyback(probe.target)));
    }
    if (probe.indirectSent && now >= probe.finalDeadline) {
      this.probe = undefined;
      this.stats.probeFailures++;
      // Lifeguard: a failed probe, and helpers that did not even nack, both hint at our own trouble.
      const missedNacks = probe.helpers.length - probe.nacks.size;
      this.raiseHealth(1 + (missedNacks > 0 ? 1 : 0));
      // Helpers that answered "no reply from it either" (nacks) confirm the target is the
      // problem. If we asked helpers and heard nothing at all from any of them, the silence
      // is more likely ours (a slow or cut-off node): no accusation this time.
      if (probe.helpers.length > 0 && probe.nacks.size === 0) {
        this.stats.withheld++;
        return;
      }
      const member = this.host.members.get(probe.target);
      if (member && isLive(member.status) && this.host.suspect(probe.target, now)) {
        const current = this.host.members.get(probe.target);
        if (current) this.startSuspicion(probe.target, current.incarnation, now);
      }
    }
  }

  private succeed(_now: Millis): void {
    this.probe = undefined;
    this.lowerHealth();
  }

  private expireRelays(now: Millis): void {
    for (const [seq, relay] of this.relays) {
      if (relay.deadline > now) continue;
      this.relays.delete(seq);
      this.host.send(relay.requester, { type: 'nack', seq: relay.requesterSeq, target: relay.target });
    }
  }

  private expireSuspicions(now: Millis): void {
    for (const [id, s] of this.suspicions) {
      if (s.deadline > now) continue;
      this.suspicions.delete(id);
      const member = this.host.members.get(id);
      if (member && member.status === 'suspect' && member.incarnation === s.incarnation) {
        this.stats.deathsDeclared++;
        this.host.declareDead(id, s.incarnation, now);
      }
    }
  }

  /** Buddy system: each period, tell the members we suspect, so they can refute in time. */
  private noticeSuspects(): void {
    let sent = 0;
    for (const [id, s] of this.suspicions) {
      if (sent >= maxSuspectNoticesPerProbe) break;
      if (!this.isContact(id)) continue;
      const fact: MemberFact = [id, s.incarnation, statusCodes.suspect];
      this.host.send(id, { type: 'ping', seq: ++this.seq, m: [fact] });
      sent++;
    }
  }
}

function withFacts<T extends { type: 'ping' }>(msg: T, facts: MemberFact[] | undefined): T & { m?: MemberFact[] } {
  return facts && facts.length > 0 ? { ...msg, m: facts } : msg;
}
