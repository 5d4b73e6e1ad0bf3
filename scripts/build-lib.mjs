// `npm run build:lib`: compiles the package's three entries and its workers to lib/ with
// Rolldown (the bundler under Vite), and their .d.ts types to lib/types/ with tsc.
// Plain JavaScript, so building needs no TypeScript loader (Node 20 cannot run .ts itself).
//
//   lib/index.js               tabmesh          (browser; dependencies stay imports)
//   lib/node.worker.js         the protocol worker      ┐ self-contained: every dependency
//   lib/kernel.worker.js       the compute kernel worker ├ inlined, so a bundler that does not
//   lib/module-probe.worker.js the capability probe     ┘ follow them (esbuild) can copy them
//   lib/node.js                tabmesh/node     (Node)
//   lib/server.js              tabmesh/server   (Node)
//   lib/server-cli.js          `npm start`'s server (signaling/main.ts)
//   lib/node-cli.js            the `tabmesh-node` command (src/node/main.ts)
//   lib/kernel-thread.js       a Node peer's kernel thread (worker_threads)
//
// Every output file sits directly in lib/ (shared chunks too), one level below the package
// root like signaling/*.ts, so `new URL('../dist/', import.meta.url)` means the same in both.
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = fileURLToPath(new URL('../', import.meta.url));
const outDir = fileURLToPath(new URL('../lib/', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/**
 * Where each worker the sources start is found in lib/: the sources name the .ts file (what
 * Vite serves in development), the package names the compiled file beside the code that starts
 * it — the literal `new URL('./x.js', import.meta.url)` form Vite and webpack recognise.
 */
const workerUrls = new Map([
  ['./worker/node.worker.ts', './node.worker.js'],
  ['./kernel.worker.ts', './kernel.worker.js'],
  ['./worker/module-probe.worker.ts', './module-probe.worker.js'],
  ['./kernel-thread-boot.mjs', './kernel-thread.js'],
]);

/** Rewrites worker URLs; a `new URL('….ts' | '….mjs', import.meta.url)` it does not know fails the build. */
const workerUrlPlugin = {
  name: 'tabmesh-worker-urls',
  transform(code, id) {
    if (!code.includes('import.meta.url')) return null;
    const pattern = /new URL\(\s*(['"])([^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g;
    let changed = false;
    const out = code.replace(pattern, (whole, _quote, spec) => {
      const target = workerUrls.get(spec);
      if (target) {
        changed = true;
        return `new URL('${target}', import.meta.url)`;
      }
      if (/\.(ts|mts|mjs)$/.test(spec))
        throw new Error(
          `${id}: new URL('${spec}', import.meta.url) names a source file the package does not ship; add it to workerUrls in scripts/build-lib.mjs`,
        );
      return whole;
    });
    return changed ? { code: out, map: null } : null;
  },
};

// node-datachannel is an optionalDependency (only the Node entry needs it): an import all the same.
const dependencies = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];
/** A package's own imports and subpaths (`ws`, `@peculiar/x509`, `node:fs`) stay imports for the app's bundler or Node to resolve. */
const isDependency = (id) => id.startsWith('node:') || builtinModules.includes(id) || dependencies.some((name) => id === name || id.startsWith(`${name}/`));

const common = { cwd: root, logLevel: 'warn', plugins: [workerUrlPlugin], tsconfig: 'tsconfig.json' };
const output = { dir: outDir, format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js', sourcemap: false };

rmSync(outDir, { recursive: true, force: true });

// The browser entry: dependencies stay imports, so the app's bundler shares them with the app.
await build({ ...common, platform: 'browser', input: { index: 'src/api/index.ts' }, external: isDependency, output });

// Each worker alone and self-contained (one file, no shared chunks).
for (const [name, input] of [
  ['node.worker', 'src/worker/node.worker.ts'],
  ['kernel.worker', 'src/compute/kernel.worker.ts'],
  ['module-probe.worker', 'src/worker/module-probe.worker.ts'],
]) {
  await build({ ...common, platform: 'browser', input: { [name]: input }, output: { ...output, codeSplitting: false } });
}

// Node: one build, so the entries share chunks instead of each carrying a copy.
await build({
  ...common,
  platform: 'node',
  input: {
    node: 'src/api/node.ts',
    server: 'signaling/index.ts',
    'server-cli': 'signaling/main.ts',
    'node-cli': 'src/node/main.ts',
    'kernel-thread': 'src/node/kernel-thread.ts',
  },
  external: isDependency,
  // The `tabmesh-node` command runs as an executable file.
  output: { ...output, banner: (chunk) => (chunk.name === 'node-cli' ? '#!/usr/bin/env node' : '') },
});
chmodSync(new URL('../lib/node-cli.js', import.meta.url), 0o755);

// `npm start` runs compiled JavaScript and needs no types.
if (process.argv.includes('--no-types')) {
  console.log(`lib/ built without types (tabmesh ${pkg.version})`);
  process.exit(0);
}

// Types: .d.ts for the entries and what they reference, with .ts import paths rewritten to .js.
execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.lib.json'], {
  cwd: root,
  stdio: 'inherit',
});
console.log(`lib/ built (tabmesh ${pkg.version})`);
