// `npm run bench -- channels [--quick] [--runs N] [--out FILE]`
//
// App channels in Chromium: the time a 16 MiB binary message takes from send() until the
// receiving node has acknowledged all of it (send() resolves then), between two linked tabs and
// to a tab two hops away (A – B – C: the ends keep one link each, so A's chunks to C are routed
// through B). Every run checks the SHA-256 at the receiver. Chunks are paced at
// sendRateBytesPerS (src/core/channel/limits.ts), so the pace is the expected ceiling: the
// figure shows how close a real link comes to it and what routing over a hop costs.
// JSON lines on stdout, a table on stderr, with the load average.
import os from 'node:os';
import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { BenchArgs } from '../main.ts';
import { emitRow, machine, percentile, printTable, type Row } from '../report.ts';
import { openPage, snapshotOf, startRig, waitFor } from '../browser/launch.ts';
import { buildChannelsPage } from '../../test/e2e/channels/build.ts';
import { waitForLine } from '../../test/e2e/channels/line.ts';
import { chunkBytes, sendRateBytesPerS } from '../../src/core/channel/limits.ts';
import { numberFlag } from '../flags.ts';

const messageBytes = 16 * 1024 * 1024;

/** Sends 16 MiB of random bytes from `from` to `to`; resolves with the send's duration (ms, in the sending page) once the receiver's digest matches. */
async function oneTransfer(from: Page, to: Page, toId: string, run: number): Promise<number> {
  const channel = `bench-${run}`;
  await to.evaluate((channel) => {
    const w = window as unknown as { benchDigest?: string | null };
    w.benchDigest = null;
    window.channels.open(channel).on((m) => {
      void crypto.subtle
        .digest('SHA-256', m as Uint8Array<ArrayBuffer>)
        .then((d) => (w.benchDigest = [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('')));
    });
  }, channel);
  const { ms, digest } = await from.evaluate(
    async ({ channel, to, size }) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
      const digest = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
      const start = performance.now();
      await window.channels.open(channel).send(bytes, { to });
      return { ms: performance.now() - start, digest };
    },
    { channel, to: toId, size: messageBytes },
  );
  const got = await waitFor(
    async () => (await to.evaluate(() => (window as unknown as { benchDigest?: string | null }).benchDigest)) ?? undefined,
    'the digest at the receiver',
    60_000,
  );
  if (got !== digest) throw new Error(`run ${run}: the receiver's SHA-256 ${got} differs from the sender's ${digest}`);
  return ms;
}

export async function run(args: BenchArgs): Promise<void> {
  const runs = numberFlag(args.rest, '--runs', args.quick ? 1 : 3);
  const staticDir = await buildChannelsPage();
  const rig = await startRig(staticDir);
  try {
    const room = `bench-channels-${Date.now().toString(36)}`;
    const open = async (i: number, min: number, max: number) => {
      const page = await openPage(rig.users[i % 2]!, `${rig.url}?room=${room}`);
      await waitFor(async () => ((await snapshotOf(page))?.signaling === 'joined' ? true : undefined), 'joined', 30_000);
      await page.evaluate(([min, max]) => window.tabmesh.setLinkBounds(min!, max!), [min, max]);
      return page;
    };
    const tabs = [await open(0, 2, 2), await open(1, 1, 1), await open(0, 1, 1)];
    const { a, b, c, ids } = await waitForLine(tabs, snapshotOf);
    const [idA, idB, idC] = [ids.a, ids.b, ids.c];
    const rows: Row[] = [];
    for (const [path, to, toId] of [
      ['direct (A→B)', b, idB],
      ['two hops (A→B→C)', c, idC],
    ] as const) {
      const times: number[] = [];
      for (let i = 0; i < runs; i++) times.push(await oneTransfer(a, to, toId!, rows.length * 100 + i));
      const [load1, load5] = os.loadavg();
      const p50 = percentile(times, 50)!;
      const row: Row = {
        suite: 'channels',
        path,
        bytes: messageBytes,
        runs,
        ms_p50: Math.round(p50),
        ms_min: Math.round(Math.min(...times)),
        ms_max: Math.round(Math.max(...times)),
        mib_per_s: Math.round((messageBytes / 1024 / 1024 / (p50 / 1000)) * 100) / 100,
        pace_mib_per_s: sendRateBytesPerS / 1024 / 1024,
        chunk_bytes: chunkBytes,
        from: idA!.slice(0, 8),
        load1: Math.round((load1 ?? 0) * 100) / 100,
        load5: Math.round((load5 ?? 0) * 100) / 100,
        cores: machine.cores,
        chromium: rig.chromium,
      };
      emitRow(row, args.out);
      rows.push(row);
    }
    printTable(rows, ['path', 'bytes', 'runs', 'ms_p50', 'ms_min', 'ms_max', 'mib_per_s', 'pace_mib_per_s', 'load1', 'load5']);
    const [l1, l5, l15] = os.loadavg();
    console.error(`load average at the end: ${l1?.toFixed(2)} ${l5?.toFixed(2)} ${l15?.toFixed(2)} on ${machine.cores} cores`);
  } finally {
    await rig.close();
    rmSync(staticDir, { recursive: true, force: true });
  }
}
