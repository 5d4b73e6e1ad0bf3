// Builds the channel test page (index.html here) with Vite's production build, worker included,
// into a temporary folder that a Tabmesh server then serves.
import { build } from 'vite';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function buildChannelsPage(): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), 'tabmesh-channels-'));
  await build({
    root: fileURLToPath(new URL('./', import.meta.url)),
    configFile: false,
    logLevel: 'warn',
    worker: { format: 'es' },
    build: { outDir, emptyOutDir: true, target: 'es2022' },
  });
  return outDir;
}
