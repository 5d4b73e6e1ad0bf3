// What an esbuild user does: esbuild bundles the page but leaves
// `new Worker(new URL('./node.worker.js', import.meta.url))` as it is, so the package's
// self-contained worker files go next to the bundle, where that URL points (here through
// esbuild too, to minify them; copying them as they are works as well).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const outdir = 'dist-esbuild';
mkdirSync(outdir, { recursive: true });
await build({ entryPoints: ['src/main.ts'], bundle: true, format: 'esm', target: 'es2022', minify: true, outfile: join(outdir, 'main.js') });
const require = createRequire(import.meta.url);
const workers = ['node.worker', 'kernel.worker', 'module-probe.worker'];
await build({
  entryPoints: Object.fromEntries(workers.map((name) => [name, require.resolve(`tabmesh/${name}.js`)])),
  format: 'esm',
  target: 'es2022',
  minify: true,
  outdir,
});
writeFileSync(join(outdir, 'index.html'), readFileSync('index.html', 'utf8').replace('/src/main.ts', '/main.js'));
console.log(JSON.stringify({ built: outdir }));
