// Each attack of attacks.ts against one server process that already serves a legitimate room:
// a background of joined clients (most in one big room, relaying in pairs), and newcomers
// joining the big room at a steady rate from fresh addresses. Each attack gets a quiet window
// just before it; the newcomers' join latency during the attack is compared with the quiet
// window's, along with what the server counted (refusals, strikes, closes from /healthz) and
// its RSS (peak, from /proc).
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Row, Target } from '../report.ts';
import { percentile } from '../report.ts';
import { AddressPool, type SimClient } from './clients.ts';
import { joinAtRate, probeJoins, relayPairs, type JoinSpec, type ProbeResult, type RelayResult } from './load.ts';
import { describeRefusals, healthDelta, mib, procTotals, round, type HealthDelta } from './health.ts';
import { delay, Monitor, sampleProc, type SignalingProcess } from './servers.ts';
import { attacks, type AttackReport } from './attacks.ts';
import type { Attacker } from './attacker.ts';
import { maxConnectionsPerAddress, maxSendBufferBytes } from '../../signaling/limits.ts';

export interface AttackConfig {
  background: number;
  /** Of the background, how many sit in the big room (the rest in rooms of 20). */
  bigRoomMembers: number;
  probeRatePerS: number;
  windowMs: number;
  /** Attack names to run (default all). */
  only: readonly string[] | null;
}

/** Judging: legitimate join p99 during an attack at most this many times the baseline p99… */
export const latencyFactor = 2;
/** …or this, whichever is larger (below it, a person notices no difference, and the machine's noise is larger). */
export const latencyFloorMs = 50;
/** Server RSS may grow during an attack by what one address may hold in send buffers, plus this. */
const rssSlackBytes = 32 * 1024 * 1024;
export const rssGrowthLimitBytes = maxConnectionsPerAddress * maxSendBufferBytes + rssSlackBytes;
/** The one abusing address. */
const attackerAddress = '127.66.6.6';
const bigRoom = 'big';
/** Background pairs relay at most one signal each per this during every window. */
const backgroundRelayIntervalMs = 200;
/** How long the server may take to drop an attacker's connections after the attack stops. */
const settleDeadlineMs = 15_000;

export async function runAttacks(server: SignalingProcess, attacker: Attacker, config: AttackConfig): Promise<{ rows: Row[]; targets: Target[] }> {
  const rows: Row[] = [];
  const targets: Target[] = [];
  const addresses = new AddressPool(20);
  const specs: JoinSpec[] = Array.from({ length: config.background }, (_, i) => ({
    url: server.wsUrl,
    room: i < config.bigRoomMembers ? bigRoom : `bg-${Math.floor((i - config.bigRoomMembers) / 20)}`,
    address: addresses.take(),
  }));
  const background = await joinAtRate(specs, 150, 64);
  const members = background.clients.filter((c): c is SimClient => c !== null);
  const pairs: Array<readonly [SimClient, SimClient]> = [];
  for (let i = 0; i + 1 < background.clients.length; i += 2) {
    const a = background.clients[i];
    const b = background.clients[i + 1];
    if (a && b && specs[i]?.room === specs[i + 1]?.room) pairs.push([a, b]);
  }
  console.error(`signaling attacks: background of ${members.length} joined (${config.bigRoomMembers} in room "${bigRoom}"), ${pairs.length} relaying pairs`);
  const probes = new AddressPool(30);

  const ctx: WindowContext = { server, attacker, pairs, probes, config };
  // Freshly started code is slow for a while (tsx compiles, V8 optimises): not measured.
  await probeJoins([server.wsUrl], bigRoom, probes, config.probeRatePerS, Math.min(config.windowMs, 3_000));
  const chosen = attacks.filter((a) => config.only === null || config.only.some((o) => a.name.startsWith(o)));
  for (const attack of chosen) {
    // A quiet window right before each attack is its baseline: on a shared machine the load
    // moves within minutes, so one baseline for all would judge the machine, not the server.
    await settle(server, members.length);
    const quiet = await measureWindow(ctx, null);
    await settle(server, members.length);
    const hit = await measureWindow(ctx, attack.name);
    const quietP99 = percentile(quiet.probe.latenciesMs, 99);
    const p99 = percentile(hit.probe.latenciesMs, 99);
    const row: Row = {
      suite: 'signaling',
      scenario: attack.name,
      quiet_join_p50_ms: round(percentile(quiet.probe.latenciesMs, 50)),
      quiet_join_p99_ms: round(quietP99),
      legit_joins: hit.probe.latenciesMs.length,
      legit_join_p50_ms: round(percentile(hit.probe.latenciesMs, 50)),
      legit_join_p99_ms: round(p99),
      p99_ratio: quietP99 && p99 !== null ? round(p99 / quietP99, 2) : null,
      legit_join_failures: hit.probe.failures.length + quiet.probe.failures.length,
      legit_failure_reasons: [...new Set([...quiet.probe.failures, ...hit.probe.failures])].join('; ') || null,
      quiet_relay_rtt_p99_ms: round(percentile(quiet.relays.roundTripsMs, 99)),
      legit_relay_rtt_p99_ms: round(percentile(hit.relays.roundTripsMs, 99)),
      legit_relays_per_s: Math.round(hit.relays.delivered / hit.relays.windowS),
      quiet_server_cpu_s: round(quiet.serverCpuS, 2),
      server_cpu_s: round(hit.serverCpuS, 2),
      server_rss_before_mb: mib(hit.rssBeforeBytes),
      server_rss_peak_mb: mib(hit.peakRssBytes),
      refusals: hit.health.refusalsTotal,
      refusal_codes: describeRefusals(hit.health.refusals),
      closed_flooding: hit.health.counters.closedForFlooding,
      closed_slow_reader: hit.health.counters.closedSlowReader,
      dead_sockets_dropped: hit.health.counters.deadSocketsDropped,
      frames_dropped_slow_reader: hit.health.counters.framesDroppedSlowReader,
      internal_errors: hit.health.counters.internalErrors + quiet.health.counters.internalErrors,
      ...attackerColumns(hit.report),
      attacker_cpu_s: round(hit.attackerCpuS, 2),
      loadgen_loop_delay_p99_ms: round(hit.loopDelayP99Ms),
      load_1m: round(hit.load1m, 2),
    };
    rows.push(row);
    console.error(
      `signaling attacks: ${attack.name}: legit join p99 ${row.quiet_join_p99_ms} ms quiet, ${row.legit_join_p99_ms} ms under attack; ` +
        `${row.legit_join_failures} failed; refusals ${row.refusal_codes}; RSS ${row.server_rss_before_mb} → peak ${row.server_rss_peak_mb} MB`,
    );
    const latencyLimit = Math.max(latencyFactor * (quietP99 ?? 0), latencyFloorMs);
    targets.push(
      {
        what: `${attack.name}: legit join p99 ms (≤ max(${latencyFactor}× quiet ${round(quietP99)}, ${latencyFloorMs}) ms; load ${round(hit.load1m, 2)})`,
        measured: round(p99),
        limit: round(latencyLimit) as number,
        kind: 'max',
      },
      { what: `${attack.name}: legit newcomers refused or timed out`, measured: row.legit_join_failures as number, limit: 0, kind: 'max' },
      {
        what: `${attack.name}: server RSS growth MB (one address's send buffers + 32 MB)`,
        measured: mib(Math.max(0, hit.peakRssBytes - hit.rssBeforeBytes)),
        limit: mib(rssGrowthLimitBytes),
        kind: 'max',
      },
      { what: `${attack.name}: internal errors (a bug alarm)`, measured: row.internal_errors as number, limit: 0, kind: 'max' },
    );
  }
  for (const client of members) client.terminate();
  return { rows, targets };
}

interface WindowContext {
  server: SignalingProcess;
  attacker: Attacker;
  pairs: ReadonlyArray<readonly [SimClient, SimClient]>;
  probes: AddressPool;
  config: AttackConfig;
}

interface WindowResult {
  probe: ProbeResult;
  relays: RelayResult;
  report: AttackReport | null;
  health: HealthDelta;
  serverCpuS: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
  attackerCpuS: number | null;
  loopDelayP99Ms: number;
  load1m: number;
}

/** One window: newcomers and the background's relays, with the attack `name` or none. */
async function measureWindow({ server, attacker, pairs, probes, config }: WindowContext, name: string | null): Promise<WindowResult> {
  const load1m = os.loadavg()[0] as number;
  const health0 = await server.health();
  const proc0 = procTotals([server.pid]);
  const monitor = new Monitor([server.pid]);
  const attacker0 = sampleProc(attacker.pid);
  // The legitimate clients run in this process: if its own event loop lags, that lag is in
  // their latency too, and the table says so.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const [probe, relays, report] = await Promise.all([
    probeJoins([server.wsUrl], bigRoom, probes, config.probeRatePerS, config.windowMs),
    relayPairs(pairs, backgroundRelayIntervalMs, config.windowMs),
    name === null
      ? delay(config.windowMs).then(() => null)
      : attacker.run(name, { url: server.wsUrl, address: attackerAddress, bigRoom, durationMs: config.windowMs }),
  ]);
  loopDelay.disable();
  const peak = monitor.stop().get(server.pid) ?? 0;
  const attacker1 = sampleProc(attacker.pid);
  const proc1 = procTotals([server.pid]);
  return {
    probe,
    relays,
    report,
    health: healthDelta([health0], [await server.health()]),
    serverCpuS: proc1.cpuS - proc0.cpuS,
    rssBeforeBytes: proc0.rssBytes,
    peakRssBytes: peak,
    attackerCpuS: attacker0 && attacker1 ? attacker1.cpuS - attacker0.cpuS : null,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    load1m,
  };
}

function attackerColumns(report: AttackReport | null): Row {
  if (!report)
    return {
      attacker_conns: null,
      attacker_joins: null,
      attacker_frames: null,
      attacker_pings: null,
      attacker_mb_sent: null,
      attacker_closed_by_server: null,
      attacker_refused: null,
    };
  const closed = Object.entries(report.closedByServer);
  const refused = Object.entries(report.refusedJoins);
  return {
    attacker_conns: report.connections,
    attacker_joins: report.joins,
    attacker_frames: report.frames,
    attacker_pings: report.pings,
    attacker_mb_sent: mib(report.bytes),
    attacker_closed_by_server: closed.length === 0 ? 'none' : closed.map(([code, n]) => `${code}×${n}`).join(' '),
    attacker_refused: refused.length === 0 ? 'none' : refused.map(([why, n]) => `${why}×${n}`).join(', '),
  };
}

/** Waits until the server holds the background's connections and no more (the attacker's are gone). */
async function settle(server: SignalingProcess, background: number): Promise<void> {
  const deadline = performance.now() + settleDeadlineMs;
  let connections = Infinity;
  while (performance.now() < deadline) {
    connections = (await server.health()).connections;
    if (connections <= background) return;
    await delay(200);
  }
  console.error(`signaling attacks: the server still holds ${connections} connections (background ${background}) after ${settleDeadlineMs} ms; going on`);
}
