// `npm run bench -- links [--quick] [--runs N] [--out FILE]` (as root: it builds the NAT lab)
//
// Link set-up time between two Node peers (src/node on node-datachannel) in the NAT lab of
// network namespaces (test/nat-lab/netns.ts), by path:
//   direct — both peers in home A (one network, host candidates)
//   stun   — one peer in each home, cone NATs, STUN only (server-reflexive candidates)
//   turn   — home A behind a symmetric NAT, TURN with short-lived credentials (relay)
// One run: a fresh room, both peers start. Two figures: set-up, as the initiating end measures
// it (snapshot links[].setupMs: its RTCPeerConnection to the open data channel — ICE, DTLS,
// SCTP), and join-to-link, from the later of the two joining the room until both logged the link
// up with its first round trip (adds signaling, the overlay's decision to dial, and log pacing
// of up to ~100 ms at each end).
// The selected candidate pair (node-datachannel's getSelectedCandidatePair) is recorded per run,
// so a figure is never of another path than it claims. JSON lines on stdout, a table on stderr.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { BenchArgs } from '../main.ts';
import { emitRow, machine, percentile, printTable, type Row } from '../report.ts';
import { createLab, type Lab } from '../../test/nat-lab/netns.ts';
import { ensureCoturn, startCoturn, stopCoturn } from '../../test/nat-lab/coturn.ts';
import { LabNodePeer, startLabServer } from '../../test/nat-lab/peers.ts';
import { numberFlag } from '../flags.ts';

const turnPort = 3478;
const turnSecret = 'nat-lab-bench-secret-0123456789';
/** A run that has not linked within this long is recorded as failed. */
const runDeadlineMs = 60_000;

type Path = 'direct' | 'stun' | 'turn';

/** When the first log line that matches arrived (this process's clock), waiting for it. */
async function timeOf(peer: LabNodePeer, predicate: (line: Record<string, unknown>) => boolean, what: string): Promise<number> {
  const line = await peer.waitForLine(predicate, what, runDeadlineMs);
  return peer.process.receivedAt.get(line) ?? performance.now();
}

async function oneRun(lab: Lab, path: Path, signal: string, run: number): Promise<{ setupMs: number; joinToLinkMs: number; pair: string }> {
  const room = `bench-${path}-${run}`;
  const [homeX, homeY] = path === 'direct' ? (['A', 'A'] as const) : (['A', 'B'] as const);
  const peers: LabNodePeer[] = [];
  try {
    // Both start together; each one's 'joined' and 'link-up' lines are timed as they arrive.
    const starting = [
      LabNodePeer.start(`${path} x`, lab.homes[homeX].ns, { room, signal, iceServers: null }),
      LabNodePeer.start(`${path} y`, lab.homes[homeY].ns, { room, signal, iceServers: null }),
    ];
    const [x, y] = await Promise.all(starting);
    peers.push(x!, y!);
    const joinedAt = await Promise.all(peers.map((p) => timeOf(p, (l) => l['event'] === 'signaling' && l['status'] === 'joined', 'joined the room')));
    const upAt = await Promise.all(peers.map((p, i) => timeOf(p, (l) => l['event'] === 'link-up' && l['peer'] === peers[1 - i]!.id, 'the link is up')));
    const pairs = await x!.pairs();
    const pair = pairs.map((p) => `${p.local}/${p.remote}`).join(',') || 'none';
    const links = await Promise.all(peers.map(async (p, i) => (await p.snapshot()).links.find((l) => l.peer === peers[1 - i]!.id)));
    const initiating = links.find((l) => l?.initiator);
    if (typeof initiating?.setupMs !== 'number') throw new Error(`no set-up time in the initiator's snapshot: ${JSON.stringify(links)}`);
    return { setupMs: initiating.setupMs, joinToLinkMs: Math.max(...upAt) - Math.max(...joinedAt), pair };
  } finally {
    await Promise.all(peers.map((p) => p.dispose()));
  }
}

export async function run(args: BenchArgs): Promise<void> {
  const runs = numberFlag(args.rest, '--runs', args.quick ? 2 : 7);
  const lab = createLab();
  ensureCoturn();
  const dir = mkdtempSync(join(os.tmpdir(), 'tabmesh-bench-links-'));
  const coturn = await startCoturn(dir, {
    auth: { kind: 'rest', secret: turnSecret },
    realm: 'bench.natlab.test',
    ip: lab.pubAddress,
    port: turnPort,
    netns: lab.pub,
  });
  const stun = [{ urls: `stun:${lab.pubAddress}:${turnPort}` }];
  const servers = [
    await startLabServer(lab.pub, { host: lab.pubAddress, port: 8080, staticDir: dir, iceServers: stun }),
    await startLabServer(lab.pub, {
      host: lab.pubAddress,
      port: 8082,
      staticDir: dir,
      iceServers: stun,
      turnRest: { secret: turnSecret, urls: [`turn:${lab.pubAddress}:${turnPort}?transport=udp`], ttlS: 600 },
    }),
  ];
  const rows: Row[] = [];
  try {
    const plan: Array<{ path: Path; natA: 'cone' | 'symmetric'; server: string; what: string }> = [
      { path: 'direct', natA: 'cone', server: servers[0]!.url, what: 'one network' },
      { path: 'stun', natA: 'cone', server: servers[0]!.url, what: 'cone NAT / cone NAT, STUN' },
      { path: 'turn', natA: 'symmetric', server: servers[1]!.url, what: 'symmetric NAT / cone NAT, TURN' },
    ];
    for (const { path, natA, server, what } of plan) {
      lab.setNat(lab.homes.A, natA);
      const times: number[] = [];
      const joinToLink: number[] = [];
      const pairs = new Set<string>();
      let failed = 0;
      for (let i = 0; i < runs; i++) {
        try {
          const result = await oneRun(lab, path, server, i);
          times.push(result.setupMs);
          joinToLink.push(Math.round(result.joinToLinkMs));
          pairs.add(result.pair);
        } catch (error) {
          failed++;
          console.error(`links bench: ${path} run ${i} failed: ${(error as Error).message.split('\n')[0]}`);
        }
      }
      const [load1, load5] = os.loadavg();
      const row: Row = {
        suite: 'links',
        path,
        nat: what,
        runs,
        failed,
        setup_p50_ms: percentile(times, 50),
        setup_min_ms: times.length ? Math.min(...times) : null,
        setup_max_ms: times.length ? Math.max(...times) : null,
        join_to_link_p50_ms: percentile(joinToLink, 50),
        pair: [...pairs].join(' '),
        load1: Math.round((load1 ?? 0) * 100) / 100,
        load5: Math.round((load5 ?? 0) * 100) / 100,
        cores: machine.cores,
        node: machine.node,
        date: new Date().toISOString(),
      };
      rows.push(row);
      emitRow(row, args.out);
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await stopCoturn(coturn);
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows, ['path', 'nat', 'runs', 'failed', 'setup_p50_ms', 'setup_min_ms', 'setup_max_ms', 'join_to_link_p50_ms', 'pair', 'load1', 'load5']);
  const [l1, l5, l15] = os.loadavg();
  console.error(`load average at the end: ${l1?.toFixed(2)} ${l5?.toFixed(2)} ${l15?.toFixed(2)} on ${machine.cores} cores`);
}
