// Which membership operations a node submits (src/core/pbft-room/membership.ts), on its own.
import { describe, expect, test } from 'vitest';
import { asNodeId } from '../../../src/core/types.ts';
import { MembershipPlanner, joinRetryMs, removeGraceMs, removeRevoteMs } from '../../../src/core/pbft-room/index.ts';

describe('membership planner', () => {
  const self = asNodeId('self');
  const other = asNodeId('other');
  const third = asNodeId('third');
  const state = (over: Partial<Parameters<MembershipPlanner['plan']>[0]> = {}) => ({
    now: 0,
    self,
    role: 'replica' as const,
    epoch: 1,
    replicas: [self, other, third],
    maxReplicas: 16,
    active: true,
    ...over,
  });

  test('an observer asks to join once at a time, again later, and not when the set is full', () => {
    const p = new MembershipPlanner();
    const obs = { role: 'observer' as const, replicas: [other] };
    expect(p.plan(state({ ...obs, now: 0 }))).toEqual([{ kind: 'join', node: self }]);
    expect(p.plan(state({ ...obs, now: 10 }))).toEqual([]);
    p.result({ kind: 'join', node: self }, true, { ok: true, effectiveAfterSeq: 16 }, 20);
    expect(p.plan(state({ ...obs, now: 20 + joinRetryMs - 1 }))).toEqual([]);
    expect(p.plan(state({ ...obs, now: 20 + joinRetryMs }))).toEqual([{ kind: 'join', node: self }]);
    const full = new MembershipPlanner();
    expect(full.plan(state({ ...obs, maxReplicas: 1 }))).toEqual([]);
    expect(new MembershipPlanner().plan(state({ ...obs, active: false }))).toEqual([]);
  });

  test('a replica votes out a replica gossip reports gone after the grace period, once per epoch', () => {
    const p = new MembershipPlanner();
    p.memberStatus(other, 'dead', 1_000);
    expect(p.plan(state({ now: 1_000 + removeGraceMs - 1 }))).toEqual([]);
    expect(p.plan(state({ now: 1_000 + removeGraceMs }))).toEqual([{ kind: 'remove', node: other }]);
    expect(p.plan(state({ now: 1_000 + removeGraceMs + 1 }))).toEqual([]);
    p.result({ kind: 'remove', node: other }, true, { ok: true, votes: 1, needed: 1 }, 5_000);
    expect(p.plan(state({ now: 5_001 }))).toEqual([]);
    // Votes reset with the epoch: vote again in the next one.
    expect(p.plan(state({ now: 5_002, epoch: 2 }))).toEqual([{ kind: 'remove', node: other }]);
    p.result({ kind: 'remove', node: other }, true, undefined, 5_003);
    expect(p.plan(state({ now: 5_003 + removeRevoteMs, epoch: 2 }))).toEqual([{ kind: 'remove', node: other }]);
  });

  test('a member back alive within the grace period (a reloaded tab) is not voted out; observers never vote', () => {
    const p = new MembershipPlanner();
    p.memberStatus(third, 'left', 0);
    p.memberStatus(third, null, 1_000);
    expect(p.plan(state({ now: 10_000 }))).toEqual([]);
    p.memberStatus(third, 'dead', 10_000);
    expect(p.plan(state({ now: 20_000, role: 'observer', replicas: [other, third] }))).toEqual([{ kind: 'join', node: self }]);
    expect(p.departures()).toEqual([{ node: third, how: 'dead', since: 10_000 }]);
  });
});
