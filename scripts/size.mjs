// `npm run size`: what an app pays for Tabmesh, in gzip bytes, without the dashboard. Bundles the
// package's browser entry (lib/index.js) with its dependencies the way an app's production
// build does (Rolldown, minified), and each worker file alone, then gzips each (zlib, level 9).
// Also the share of the WebRTC links in the page code, and the simple-peer stack they replaced. Prints JSON lines, then a table.
// Builds lib/ first when it is missing (scripts/build-lib.mjs).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'rolldown';

const root = fileURLToPath(new URL('../', import.meta.url));
const lib = join(root, 'lib');
if (!existsSync(join(lib, 'index.js'))) execFileSync(process.execPath, [join(root, 'scripts/build-lib.mjs'), '--no-types'], { stdio: 'inherit' });

// Inside the repository, so the bundler resolves the dependencies from its node_modules.
mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
const scratch = mkdtempSync(join(root, 'node_modules/.cache/tabmesh-size-'));
const loadBefore = loadavg()[0];

/** Minified bundle of `input` (everything inlined, like an app's build), and its raw and gzip bytes. */
async function measure(name, input, external = []) {
  const out = join(scratch, name);
  await build({
    input,
    cwd: root,
    logLevel: 'silent',
    platform: 'browser',
    external,
    output: { dir: out, format: 'es', minify: true, codeSplitting: false, entryFileNames: 'out.js' },
  });
  const code = readFileSync(join(out, 'out.js'));
  return { name, bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
}

const entry = (file, text) => {
  const path = join(scratch, file);
  writeFileSync(path, text);
  return path;
};

const rows = [];
// The page code: everything `import { … } from 'tabmesh'` brings, with its dependencies.
rows.push({ part: 'page', ...(await measure('page', entry('page.js', `export * from ${JSON.stringify(join(lib, 'index.js'))};`))) });
for (const worker of ['node.worker', 'kernel.worker', 'module-probe.worker'])
  rows.push({ part: 'worker', ...(await measure(worker, join(lib, `${worker}.js`))) });
// One slice of the page code: the WebRTC wrapper (issue 17, "Bundle"), and for scale the
// simple-peer stack it replaced (a development dependency now, kept for this and bench:links).
rows.push({
  part: 'of which',
  ...(await measure(
    'WebRTC links (src/net/native-peer.ts)',
    entry('peer.js', `import { NativePeer } from ${JSON.stringify(join(root, 'src/net/native-peer.ts'))}; globalThis.P = NativePeer;`),
  )),
});
rows.push({
  part: 'for scale',
  ...(await measure(
    'simple-peer stack (what the links used before)',
    entry('simple-peer.js', `import P from '@thaunknown/simple-peer/lite.js'; globalThis.P = P;`),
  )),
});

// The dashboard, for scale, when it has been built (npm run build): its page code (the same
// workers as above are left out), and uPlot, fetched only when a plot is shown.
const dashboardAssets = join(root, 'dist/assets');
if (existsSync(dashboardAssets)) {
  const js = readdirSync(dashboardAssets).filter((f) => f.endsWith('.js') && !f.includes('.worker'));
  const groups = [
    ['dashboard page code (dist/, no workers, no uPlot)', js.filter((f) => !/^uPlot/.test(f))],
    ['dashboard uPlot (fetched with the first plot)', js.filter((f) => /^uPlot/.test(f))],
  ];
  for (const [name, files] of groups) {
    const code = Buffer.concat(files.map((f) => readFileSync(join(dashboardAssets, f))));
    rows.push({ part: 'for scale', name, bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length });
  }
}
rmSync(scratch, { recursive: true, force: true });

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const load = { loadBefore: Number(loadBefore.toFixed(2)), loadAfter: Number(loadavg()[0].toFixed(2)) };
for (const row of rows) console.log(JSON.stringify({ suite: 'size', version, ...row, ...load }));
const totalGzip = rows.filter((r) => r.part === 'page' || r.part === 'worker').reduce((sum, r) => sum + r.gzipBytes, 0);
console.log(JSON.stringify({ suite: 'size', version, part: 'total', name: 'page + workers', gzipBytes: totalGzip, ...load }));

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log('\n| part | what | minified | gzip |\n|---|---|---:|---:|');
for (const row of rows) console.log(`| ${row.part} | ${row.name} | ${kb(row.bytes)} | ${kb(row.gzipBytes)} |`);
console.log(`| total | page + workers | | ${kb(totalGzip)} |`);
console.log(`\nload average (1 min): ${load.loadBefore} before, ${load.loadAfter} after`);
