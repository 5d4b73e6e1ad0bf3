// Production source maps are opt-in: by default `npm run build` publishes none (they would hand
// out the whole source, megabytes of it, beside the app); TABMESH_SOURCEMAP=1 turns them on.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFromFile } from 'vite';

const configFile = fileURLToPath(new URL('../../vite.config.ts', import.meta.url));
const saved = process.env['TABMESH_SOURCEMAP'];
afterEach(() => {
  if (saved === undefined) delete process.env['TABMESH_SOURCEMAP'];
  else process.env['TABMESH_SOURCEMAP'] = saved;
});

async function sourcemapSetting(value: string | undefined): Promise<unknown> {
  if (value === undefined) delete process.env['TABMESH_SOURCEMAP'];
  else process.env['TABMESH_SOURCEMAP'] = value;
  const loaded = await loadConfigFromFile({ command: 'build', mode: 'production' }, configFile, undefined, 'silent');
  return loaded?.config.build?.sourcemap;
}

describe('vite.config.ts source maps', () => {
  it('are off by default and on with TABMESH_SOURCEMAP=1', async () => {
    expect(await sourcemapSetting(undefined)).toBe(false);
    expect(await sourcemapSetting('0')).toBe(false);
    expect(await sourcemapSetting('1')).toBe(true);
  }, 30_000);
});
