// What the browser benches serve, and where it is built: a fresh directory of each run's own
// under the system's temp directory (fs.mkdtemp), so two runs at once never overwrite each
// other's build, removed when the run ends. Never dist/ or anywhere else in the repository.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** A run's own scratch directory; `remove()` deletes it and everything built in it. */
export interface RunDir {
  readonly path: string;
  remove(): Promise<void>;
}

/** A fresh, empty directory `tabmesh-<name>-XXXXXX` under the temp directory, for one run's builds. */
export async function makeRunDir(name: string): Promise<RunDir> {
  const path = await mkdtemp(join(tmpdir(), `tabmesh-${name}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Vite's production build of this checkout's app plus the floor page (bench/browser/floor.html),
 * into `outDir`; always fresh, since a stale dist/ would measure old code. `readable`: not
 * minified and with source maps, so a profile keeps the names of functions and files.
 */
export async function buildForBench(outDir: string, { readable = false } = {}): Promise<string> {
  await build({
    root: repoRoot,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: true,
      ...(readable ? { minify: false, sourcemap: true } : {}),
      rollupOptions: { input: { main: join(repoRoot, 'index.html'), floor: join(repoRoot, 'bench/browser/floor.html') } },
    },
  });
  return outDir;
}

/** Another checkout's production build, with its own Vite config (a `--baseline`, for before/after in one run). */
export async function buildCheckout(root: string, outDir: string): Promise<string> {
  await build({ root, configFile: join(root, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  return outDir;
}

/** Runs `use` with a fresh run directory (makeRunDir), removed afterwards however `use` ends. */
export async function withRunDir<T>(name: string, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await makeRunDir(name);
  try {
    return await use(dir.path);
  } finally {
    await dir.remove();
  }
}
