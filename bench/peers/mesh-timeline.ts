// `npx tsx bench/peers/mesh-timeline.ts [tabs] [dist]`: opens N Tabmesh tabs (a context each,
// as bench:peers does) and prints each tab's timeline until meshIsWhole: page loaded, worker
// runtime started, window.tabmesh answering, signaling joined, first link up, degree reached.
// Where a mesh's forming seconds go (docs/benchmarks.md, "Peers").
import { chromium, type Page } from 'playwright-core';
import { createTabmeshServer } from '../../signaling/server.ts';
import { chromiumArgs, findChromium } from '../../test/e2e/find-chromium.ts';
import { buildForBench, makeRunDir, type RunDir } from '../browser/builds.ts';
import { openTabsInOwnContexts } from '../browser/launch.ts';
import { meshIsWhole, type MeshView } from '../browser/mesh-measure.ts';

const n = Number(process.argv[2] ?? 8);
// Without a build given, one of this run's own (removed at the end).
const runDir = process.argv[3] ? null : await makeRunDir('mesh-timeline');
const dist = process.argv[3] ?? (await buildForBench((runDir as RunDir).path));
const server = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir: dist });
const { url } = await server.listen();
const browser = await chromium.launch({ executablePath: findChromium(() => {}), headless: true, args: chromiumArgs });
const wall0 = Date.now();
const t = () => Date.now() - wall0;
type Events = Record<string, number>;
const events: Events[] = Array.from({ length: n }, () => ({}));
const note = (i: number, what: string, at = t()) => ((events[i] as Events)[what] ??= at);
const pages: Page[] = await openTabsInOwnContexts(
  browser,
  n,
  () => `${url}?room=timeline-${process.pid}`,
  [],
  (page, i) => {
    note(i, 'context');
    page.on('pageerror', (e) => console.log(`tab ${i} error ${e.message}`));
    page.once('load', () => note(i, 'loaded'));
  },
);
for (let k = 0; k < 2400; k++) {
  const snaps = await Promise.all(
    pages.map((p) =>
      p
        .evaluate(() => {
          const s = window.tabmesh?.snapshot();
          if (!s) return null;
          const { id, startedAt, signaling, knownPeers, connecting, links, overlay } = s;
          return { id, startedAt, signaling, knownPeers, connecting, links, overlay: { config: overlay.config }, at: Date.now() };
        })
        .catch(() => null),
    ),
  );
  snaps.forEach((s, i) => {
    if (!s) return;
    note(i, 'worker', s.startedAt - wall0);
    note(i, 'api');
    if (s.signaling === 'joined') note(i, 'joined');
    if (s.knownPeers.length > 0) note(i, 'peer known');
    if (s.connecting.length > 0) note(i, 'dialling');
    if (s.links.length > 0) note(i, 'link up');
    if (s.links.length >= Math.min(3, n - 1)) note(i, 'degree');
  });
  if (k % 20 === 0)
    console.log(`${t()} ms: degrees ${snaps.map((s) => (s ? `${s.links.length}${s.connecting.length ? `+${s.connecting.length}` : ''}` : '-')).join(' ')}`);
  if (snaps.every((s) => s) && meshIsWhole(snaps as MeshView[])) {
    console.log(`whole at ${t()} ms`);
    const setups = (snaps as Array<NonNullable<(typeof snaps)[number]>>).flatMap((s) => s.links.map((l) => Math.round(l.setupMs ?? -1)));
    console.log(`link setupMs: ${setups.sort((a, b) => a - b).join(' ')}`);
    for (const [i, s] of snaps.entries()) {
      const ups = (s as NonNullable<typeof s>).links.map((l) => s!.at - wall0 - l.upForMs).sort((a, b) => a - b);
      console.log(`tab ${i}: links up at ${ups.join(' ')}`);
    }
    console.log(`signaling states: ${[...new Set((snaps as Array<NonNullable<(typeof snaps)[number]>>).map((s) => s.signaling))].join()}`);
    break;
  }
  await new Promise((r) => setTimeout(r, 50));
}
for (const [i, e] of events.entries())
  console.log(
    `tab ${i}: ${Object.entries(e)
      .sort((a, b) => a[1] - b[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
await browser.close();
await server.close();
await runDir?.remove();
process.exit(0);
