// Builds the y-webrtc page of `npm run bench:peers` with esbuild into the run's own directory
// (never into the repository). simple-peer (y-webrtc's WebRTC wrapper) expects Node's
// `process` and `global`; a small banner gives it browser stand-ins.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const banner = [
  'globalThis.global = globalThis;',
  'globalThis.process = globalThis.process || { env: {}, browser: true, version: "", versions: {}, nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)) };',
].join('\n');

/** Builds the page into `outDir` (made if missing); returns it, holding index.html and yjs-page.js. */
export async function buildYjsPage(outDir: string): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [fileURLToPath(new URL('./yjs-page.ts', import.meta.url))],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    minify: true,
    outfile: join(outDir, 'yjs-page.js'),
    banner: { js: banner },
    define: { 'process.env.NODE_DEBUG': 'false', 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  writeFileSync(join(outDir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>y-webrtc bench</title><script src="yjs-page.js"></script>\n');
  return outDir;
}
