// `npm run bench:links`: the WebRTC link stack, @thaunknown/simple-peer against the native
// RTCPeerConnection API, in one headless Chromium tab over loopback (page.ts). Rounds
// alternate the two; prints a JSON line per round, then medians [min–max] and the load.
// Options: --rounds N (default 8), --mib M (bytes per throughput run, default 16).
import { build } from 'rolldown';
import { readFileSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumArgs, findChromium } from '../../test/e2e/find-chromium.ts';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const rounds = arg('rounds', 8);
const bytes = arg('mib', 16) * 1024 * 1024;

const out = mkdtempSync(join(tmpdir(), 'tabmesh-bench-links-'));
await build({
  input: fileURLToPath(new URL('./page.ts', import.meta.url)),
  cwd: fileURLToPath(new URL('../../', import.meta.url)),
  logLevel: 'silent',
  platform: 'browser',
  output: { dir: out, format: 'es', entryFileNames: 'page.js', codeSplitting: false },
});
const script = readFileSync(join(out, 'page.js'), 'utf8');

const browser = await chromium.launch({ executablePath: findChromium((line) => console.error(line)), headless: true, args: chromiumArgs });
// A media permission makes Chromium hand out host candidates instead of mDNS names (no multicast here).
const context = await browser.newContext({ permissions: ['microphone'] });
const page = await context.newPage();
await page.goto('about:blank');
await page.addScriptTag({ content: script, type: 'module' });
await page.waitForFunction(() => 'linkRound' in window);

const results: Record<string, { setupMs: number[]; mibPerS: number[] }> = { 'simple-peer': { setupMs: [], mibPerS: [] }, native: { setupMs: [], mibPerS: [] } };
for (let i = 0; i < rounds; i++) {
  for (const kind of i % 2 === 0 ? (['simple-peer', 'native'] as const) : (['native', 'simple-peer'] as const)) {
    const load1 = loadavg()[0] ?? 0;
    const r = await page.evaluate(
      ([k, b]) => (window as unknown as { linkRound(kind: string, bytes: number): Promise<{ setupMs: number; mibPerS: number }> }).linkRound(k, b),
      [kind, bytes] as const,
    );
    results[kind]!.setupMs.push(r.setupMs);
    results[kind]!.mibPerS.push(r.mibPerS);
    console.log(
      JSON.stringify({
        bench: 'links',
        stack: kind,
        round: i,
        setupMs: Number(r.setupMs.toFixed(1)),
        mibPerS: Number(r.mibPerS.toFixed(1)),
        mib: bytes / 1024 / 1024,
        load1: Number(load1.toFixed(2)),
      }),
    );
  }
}
await browser.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const span = (xs: number[]) => `${median(xs).toFixed(1)} [${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}]`;
console.log(`\n| stack | setup ms | MiB/s (${bytes / 1024 / 1024} MiB, 16 KiB messages) |\n|---|---:|---:|`);
for (const [kind, r] of Object.entries(results)) console.log(`| ${kind} | ${span(r.setupMs)} | ${span(r.mibPerS)} |`);
console.log(`\n${rounds} rounds each, alternating; load average (1 min) at the end: ${(loadavg()[0] ?? 0).toFixed(2)}`);
