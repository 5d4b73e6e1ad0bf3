// The load run, the same for one process and for three behind Redis: N clients join rooms of
// 20 at a steady rate, then pairs in each room relay signals (closed loop) while nothing else
// happens, then again while two members of every room leave and rejoin. Figures: join latency,
// relays delivered per second, and what they cost the server processes (CPU from /proc per
// join and per relay, RSS per connection), with Redis's own cost beside when it is there.
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Row } from '../report.ts';
import { percentile } from '../report.ts';
import { AddressPool, type SimClient } from './clients.ts';
import { churn, joinAtRate, relayPairs, type JoinSpec } from './load.ts';
import { healthDelta, mib, procTotals, round } from './health.ts';
import { Monitor, sampleProc, type SignalingProcess } from './servers.ts';

export interface LoadConfig {
  clients: number;
  roomSize: number;
  joinRatePerS: number;
  maxJoinsInFlight: number;
  relayWindowMs: number;
  churnWindowMs: number;
  /** A pair sends at most one signal each per this (under the 50 frames/s limit): the capacity run. */
  relayIntervalMs: number;
  /** The same during churn: steady chatter, so the rejoins meet a busy server, not a saturated one. */
  churnRelayIntervalMs: number;
}

/** Unmeasured joins per server process before the run. */
const warmUpJoins = 20;
/** Members of each room that churn (the rest relay in pairs). */
const churnersPerRoom = 2;

export async function runLoad(mode: string, servers: readonly SignalingProcess[], redisPid: number | null, config: LoadConfig): Promise<Row> {
  const pids = servers.map((s) => s.pid);
  // Freshly started servers are slow for their first joins (V8 has not optimised anything yet):
  // a few joins and leaves on every process first, not measured.
  const warmAddresses = new AddressPool(11);
  const warm = await joinAtRate(
    Array.from({ length: warmUpJoins * servers.length }, (_, i) => ({
      url: (servers[i % servers.length] as SignalingProcess).wsUrl,
      room: 'warm-up',
      address: warmAddresses.take(),
    })),
    100,
    32,
  );
  await Promise.all(warm.clients.map((c) => c?.leave()));
  const started = performance.now();
  const load1mStart = os.loadavg()[0] as number;
  const loadgenCpu0 = process.cpuUsage();
  const redis0 = redisPid === null ? null : sampleProc(redisPid);
  const health0 = await Promise.all(servers.map((s) => s.health()));
  const idle = procTotals(pids);
  const monitor = new Monitor(pids);
  // The clients run in this process: a lagging event loop here shows in their latencies too.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();

  // 1. Joins: client i in room i/roomSize, on server i mod servers (a room spans every process).
  const addresses = new AddressPool(10);
  const specs: JoinSpec[] = Array.from({ length: config.clients }, (_, i) => ({
    url: (servers[i % servers.length] as SignalingProcess).wsUrl,
    room: `room-${Math.floor(i / config.roomSize)}`,
    address: addresses.take(),
  }));
  console.error(`signaling ${mode}: joining ${config.clients} clients at ${config.joinRatePerS}/s`);
  const joins = await joinAtRate(specs, config.joinRatePerS, config.maxJoinsInFlight);
  const afterJoin = procTotals(pids);
  const joined = joins.clients.filter((c): c is SimClient => c !== null);
  console.error(
    `signaling ${mode}: ${joined.length}/${config.clients} joined, ${joins.failures.length} failed (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );

  // 2. Pairs and churners per room: the first members pair up, the last two churn.
  const pairs: Array<readonly [SimClient, SimClient]> = [];
  const churners: Array<{ client: SimClient; url: string; room: string }> = [];
  for (let first = 0; first < config.clients; first += config.roomSize) {
    const members = Array.from({ length: Math.min(config.roomSize, config.clients - first) }, (_, k) => first + k);
    const churning = members.slice(-churnersPerRoom);
    const pairing = members.slice(0, -churnersPerRoom);
    for (const i of churning) {
      const client = joins.clients[i];
      if (client) churners.push({ client, url: specs[i]?.url as string, room: specs[i]?.room as string });
    }
    for (let k = 0; k + 1 < pairing.length; k += 2) {
      const a = joins.clients[pairing[k] as number];
      const b = joins.clients[pairing[k + 1] as number];
      if (a && b) pairs.push([a, b]);
    }
  }

  const beforeRelay = procTotals(pids);
  const relays = await relayPairs(pairs, config.relayIntervalMs, config.relayWindowMs);
  const afterRelay = procTotals(pids);
  console.error(`signaling ${mode}: ${Math.round(relays.delivered / relays.windowS)} relays/s over ${pairs.length} pairs`);

  // 3. Two of every room leave and rejoin, while the pairs go on at a steady pace.
  const [churned, relaysUnderChurn] = await Promise.all([
    churn(churners, config.churnWindowMs, 100),
    relayPairs(pairs, config.churnRelayIntervalMs, config.churnWindowMs),
  ]);
  const peaks = monitor.stop();
  loopDelay.disable();
  const health1 = await Promise.all(servers.map((s) => s.health()));
  const delta = healthDelta(health0, health1);
  const redis1 = redisPid === null ? null : sampleProc(redisPid);
  const loadgenCpu = process.cpuUsage(loadgenCpu0);
  for (const client of [...joined, ...churned.clients]) client.terminate();

  const joinCpuS = afterJoin.cpuS - idle.cpuS;
  const relayCpuS = afterRelay.cpuS - beforeRelay.cpuS;
  return {
    suite: 'signaling',
    scenario: 'load',
    mode,
    processes: servers.length,
    clients: config.clients,
    joined: joined.length,
    join_failures: joins.failures.length,
    join_p50_ms: round(percentile(joins.latenciesMs, 50)),
    join_p99_ms: round(percentile(joins.latenciesMs, 99)),
    joins_per_s_offered: config.joinRatePerS,
    relay_pairs: pairs.length,
    relays_per_s: Math.round(relays.delivered / relays.windowS),
    relay_rtt_p50_ms: round(percentile(relays.roundTripsMs, 50)),
    relay_rtt_p99_ms: round(percentile(relays.roundTripsMs, 99)),
    relays_lost: relays.lost,
    churn_rejoins: churned.rejoins,
    churn_join_p50_ms: round(percentile(churned.latenciesMs, 50)),
    churn_join_p99_ms: round(percentile(churned.latenciesMs, 99)),
    churn_failures: churned.failures.length,
    relays_per_s_churn: Math.round(relaysUnderChurn.delivered / relaysUnderChurn.windowS),
    // Server CPU: all server processes (not Redis) together.
    server_cpu_ms_per_join: round((joinCpuS * 1000) / Math.max(1, joined.length), 2),
    server_cpu_us_per_relay: round((relayCpuS * 1e6) / Math.max(1, relays.delivered), 1),
    server_cpu_s: round(procTotals(pids).cpuS - idle.cpuS, 2),
    server_rss_idle_mb: mib(idle.rssBytes),
    server_rss_joined_mb: mib(afterJoin.rssBytes),
    rss_kb_per_conn: round((afterJoin.rssBytes - idle.rssBytes) / 1024 / Math.max(1, joined.length)),
    server_rss_peak_mb: mib([...peaks.values()].reduce((a, b) => a + b, 0)),
    redis_cpu_s: redis0 && redis1 ? round(redis1.cpuS - redis0.cpuS, 2) : null,
    redis_rss_mb: redis1 ? mib(redis1.rssBytes) : null,
    server_refusals: delta.refusalsTotal,
    internal_errors: delta.counters.internalErrors,
    loadgen_cpu_s: round((loadgenCpu.user + loadgenCpu.system) / 1e6, 2),
    loadgen_loop_delay_p99_ms: round(loopDelay.percentile(99) / 1e6),
    load_1m_start: round(load1mStart, 2),
    load_1m_end: round(os.loadavg()[0] as number, 2),
    wall_s: round((performance.now() - started) / 1000),
  };
}
