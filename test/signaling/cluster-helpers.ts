// Test helpers for signaling clusters: servers sharing one test Redis, and waits with a
// deadline long enough for a member's heartbeat to expire (a dead member's nodes leave within
// its TTL plus one sweep).
import type { SignalingStats } from '../../signaling/hub.ts';
import type { TabmeshServerOptions } from '../../signaling/server.ts';
import { startServer, type Running, type TestClient } from './helpers.ts';

/** Short heartbeats for in-process members, so a dead one is noticed in about a second. */
export const fastCluster = { clusterHeartbeatMs: 200, clusterMemberTtlMs: 1_000 } as const;
/** Long enough for the default 5 s TTL, a sweep and a reconnect to a restarted Redis. */
export const clusterDeadlineMs = 15_000;

export async function startMembers(redisUrl: string, count: number, options: TabmeshServerOptions = {}): Promise<Running[]> {
  const members: Running[] = [];
  for (let i = 0; i < count; i++) members.push(await startServer({ redisUrl, ...fastCluster, ...options }));
  // Each member has registered (and so will take part in samples, relays and caps).
  await waitUntil('every member sees the whole cluster', () => members.every((m) => (m.server.stats().cluster?.members.length ?? 0) === count));
  return members;
}

/** Polls `check` until it holds; fails with `what` after the deadline. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, deadlineMs = clusterDeadlineMs): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50)); // a poll interval, not a sleep standing in for a condition
  }
}

/** Every id in `ids` announced as joined (and, if given, `left` as left) to `client`. */
export function heard(client: TestClient, expected: { joined?: string[]; left?: string[] }): boolean {
  const joined = new Set(client.announcements.flatMap((f) => f.joined));
  const left = new Set(client.announcements.flatMap((f) => f.left));
  return (expected.joined ?? []).every((id) => joined.has(id)) && (expected.left ?? []).every((id) => left.has(id));
}

export function clusterOf(stats: SignalingStats): NonNullable<SignalingStats['cluster']> {
  if (!stats.cluster) throw new Error('this server is not a cluster member (no redisUrl)');
  return stats.cluster;
}
