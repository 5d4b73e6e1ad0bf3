// `npm run bench -- signaling [--quick] [--parts single,cluster,attacks] [--clients N]
//                              [--attacks a,b,…] [--window-s S] [--out FILE]`
//
// The signaling server under load and under abuse (issue 19, item 3), over loopback only:
//   single   one server process; N simulated clients (2,000; 300 with --quick) join rooms of 20,
//            relay signals in pairs, and churn;
//   cluster  the same against three server processes behind one redis-server (`--redis URL`);
//   attacks  one server process with a legitimate background, newcomers joining at a steady
//            rate, and each attack of attacks.ts from ONE address in turn.
// Servers, Redis and the attacker are child processes of the bench (CPU and RSS per process
// from /proc); every client has its own 127.x.y.z source address, as many users would.
import os from 'node:os';
import type { BenchArgs } from '../main.ts';
import { emitRow, judgeTargets, machine, printTable, type Row, type Target } from '../report.ts';
import { runLoad, type LoadConfig } from './load-scenario.ts';
import { latencyFactor, latencyFloorMs, runAttacks, type AttackConfig } from './attack-scenario.ts';
import { attacks } from './attacks.ts';
import { startAttacker, type Attacker } from './attacker.ts';
import { serverHasRedisFlag, startRedis, startSignaling, type RedisProcess, type SignalingProcess } from './servers.ts';
import { flag, numberFlag } from '../flags.ts';

const parts = ['single', 'cluster', 'attacks'] as const;
/** The whole run's bound: past it, the children are stopped and the bench fails, saying where it was. */
const quickBudgetMs = 5 * 60_000;
const fullBudgetMs = 20 * 60_000;
type Part = (typeof parts)[number];
const clusterSize = 3;

export async function run(args: BenchArgs): Promise<void> {
  const { chosen, clients, windowMs, loadConfig, attackConfig } = settingsOf(args);
  console.error(
    `signaling bench ${new Date().toISOString()}: ${machine.cores} cores, node ${machine.node}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  const loadRows: Row[] = [];
  const attackRows: Row[] = [];
  const targets: Target[] = [];
  const stoppers: Array<() => Promise<void> | void> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stoppers.splice(0).reverse()) await stop();
  };
  let phase = 'starting';
  const enter = (name: string): void => {
    phase = name;
    console.error(`signaling bench: ${name} (${new Date().toISOString().slice(11, 19)})`);
  };
  const abort = (why: string): void => {
    console.error(`signaling bench: ${why} during "${phase}"; stopping the servers`);
    void stopAll().finally(() => process.exit(1));
  };
  const budgetMs = args.quick ? quickBudgetMs : fullBudgetMs;
  const watchdog = setTimeout(() => abort(`not done within ${budgetMs / 60_000} min`), budgetMs);
  watchdog.unref();
  const onSignal = (signal: string) => () => abort(signal);
  const signals = { SIGINT: onSignal('SIGINT'), SIGTERM: onSignal('SIGTERM') };
  for (const [name, handler] of Object.entries(signals)) process.once(name, handler);
  try {
    if (chosen.includes('single')) {
      enter('single: starting the server');
      const server = await startSignaling();
      stoppers.push(() => server.stop());
      enter('single: load');
      loadRows.push(await runLoad('single', [server], null, loadConfig));
      await stopAll();
    }
    if (chosen.includes('cluster')) {
      enter('cluster: checking for --redis');
      if (!serverHasRedisFlag()) {
        const message =
          'this server has no --redis flag (signaling/main.ts --help does not list it): the cluster mode cannot run until the Redis cluster is merged';
        console.error(`signaling cluster-${clusterSize}: NOT RUN: ${message}`);
        loadRows.push({ suite: 'signaling', scenario: 'load', mode: `cluster-${clusterSize}`, error: message });
        targets.push({ what: `cluster of ${clusterSize} behind Redis ran`, measured: 0, limit: 1, kind: 'min' });
      } else {
        enter('cluster: starting redis-server and the servers');
        const redis: RedisProcess = await startRedis();
        stoppers.push(() => redis.stop());
        const servers: SignalingProcess[] = await Promise.all(Array.from({ length: clusterSize }, () => startSignaling(['--redis', redis.url])));
        for (const s of servers) stoppers.push(() => s.stop());
        enter('cluster: load');
        loadRows.push(await runLoad(`cluster-${clusterSize}`, servers, redis.pid, loadConfig));
        await stopAll();
      }
    }
    for (const row of loadRows) {
      emitRow(row, args.out);
      if (row.error === undefined) targets.push(...loadTargets(row));
    }
    if (chosen.includes('attacks')) {
      enter('attacks: starting the server and the attacker');
      const server = await startSignaling();
      stoppers.push(() => server.stop());
      const attacker: Attacker = startAttacker();
      stoppers.push(() => attacker.stop());
      enter('attacks: background and windows');
      const result = await runAttacks(server, attacker, attackConfig);
      for (const row of result.rows) emitRow(row, args.out);
      attackRows.push(...result.rows);
      targets.push(...result.targets);
      await stopAll();
    }
  } finally {
    await stopAll();
    clearTimeout(watchdog);
    for (const [name, handler] of Object.entries(signals)) process.off(name, handler);
  }

  console.error('');
  if (loadRows.length > 0) printLoadTable(loadRows, clients, loadConfig);
  if (attackRows.length > 0) printAttackTable(attackRows, attackConfig, windowMs);
  console.error(
    `load average now ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const missed = judgeTargets(targets);
  if (missed > 0) process.exitCode = 1;
}

/** The parts to run and their configuration, from the command line (quick or full). */
function settingsOf(args: BenchArgs): { chosen: Part[]; clients: number; windowMs: number; loadConfig: LoadConfig; attackConfig: AttackConfig } {
  const chosen = (flag(args.rest, '--parts') ?? parts.join(',')).split(',') as Part[];
  const unknown = chosen.filter((p) => !parts.includes(p));
  if (unknown.length > 0) throw new Error(`--parts takes ${parts.join(', ')}; got ${unknown.join(', ')}`);
  const clients = numberFlag(args.rest, '--clients', args.quick ? 300 : 2_000);
  const windowMs = numberFlag(args.rest, '--window-s', args.quick ? 4 : 10) * 1000;
  if (!(clients >= 2 && clients <= 20_000) || !(windowMs >= 1_000 && windowMs <= 120_000)) throw new Error('--clients 2–20000, --window-s 1–120');
  const loadConfig: LoadConfig = {
    clients,
    roomSize: 20,
    joinRatePerS: args.quick ? 150 : 250,
    maxJoinsInFlight: 256,
    relayWindowMs: windowMs,
    churnWindowMs: windowMs,
    relayIntervalMs: 50,
    churnRelayIntervalMs: 1_000,
  };
  const attackConfig: AttackConfig = {
    background: args.quick ? 150 : 600,
    // The big room (256 seats) keeps room for the attacker's 32 and for newcomers still joined while a slow server handles their leave.
    bigRoomMembers: args.quick ? 100 : 150,
    probeRatePerS: args.quick ? 20 : 30,
    windowMs,
    only: flag(args.rest, '--attacks')?.split(',') ?? null,
  };
  return { chosen, clients, windowMs, loadConfig, attackConfig };
}

/** What a load row must show: no legit client refused, no internal error. */
function loadTargets(row: Row): Target[] {
  return [
    {
      what: `${row.mode}: legit joins refused or timed out`,
      measured: (row.join_failures as number) + (row.churn_failures as number),
      limit: 0,
      kind: 'max',
    },
    { what: `${row.mode}: frames of legit clients refused by the server`, measured: row.server_refusals as number, limit: 0, kind: 'max' },
    { what: `${row.mode}: internal errors`, measured: row.internal_errors as number, limit: 0, kind: 'max' },
  ];
}

function printLoadTable(loadRows: Row[], clients: number, loadConfig: LoadConfig): void {
  console.error(
    `Load (${clients} clients in rooms of 20; relays: pairs in closed loop, ≤ 1 signal per ${loadConfig.relayIntervalMs} ms each (the capacity); ` +
      `churn: 2 per room leave and rejoin while the pairs relay ≤ 1 per ${loadConfig.churnRelayIntervalMs} ms):`,
  );
  printTable(loadRows, [
    'mode',
    'clients',
    'joined',
    'join_p50_ms',
    'join_p99_ms',
    'relays_per_s',
    'relay_rtt_p99_ms',
    'churn_join_p50_ms',
    'churn_join_p99_ms',
    'relays_per_s_churn',
    'server_cpu_ms_per_join',
    'server_cpu_us_per_relay',
    'rss_kb_per_conn',
    'server_rss_peak_mb',
    'redis_cpu_s',
    'redis_rss_mb',
    'loadgen_cpu_s',
    'loadgen_loop_delay_p99_ms',
    'load_1m_start',
    'load_1m_end',
    'error',
  ]);
}

function printAttackTable(attackRows: Row[], attackConfig: AttackConfig, windowMs: number): void {
  console.error('');
  console.error(
    `Attacks from one address (${attackConfig.background} legit clients joined, ${attackConfig.bigRoomMembers} in the big room; ` +
      `newcomers join it at ${attackConfig.probeRatePerS}/s; ${windowMs / 1000} s windows):`,
  );
  printTable(attackRows, [
    'scenario',
    'quiet_join_p50_ms',
    'quiet_join_p99_ms',
    'legit_join_p50_ms',
    'legit_join_p99_ms',
    'p99_ratio',
    'legit_join_failures',
    'quiet_relay_rtt_p99_ms',
    'legit_relay_rtt_p99_ms',
    'quiet_server_cpu_s',
    'server_cpu_s',
    'server_rss_before_mb',
    'server_rss_peak_mb',
    'refusal_codes',
    'closed_flooding',
    'closed_slow_reader',
    'dead_sockets_dropped',
    'attacker_conns',
    'attacker_frames',
    'attacker_pings',
    'attacker_closed_by_server',
    'attacker_cpu_s',
    'loadgen_loop_delay_p99_ms',
    'load_1m',
  ]);
  for (const attack of attacks) console.error(`  ${attack.name}: ${attack.what}`);
  console.error(
    `  quiet_*: the window just before the attack, without it. ` +
      `Judged: legit join p99 ≤ max(${latencyFactor}× the quiet window's, ${latencyFloorMs} ms), no legit join refused, server RSS bounded.`,
  );
}
