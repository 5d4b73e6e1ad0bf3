// Once per e2e run: find (or install) Chromium and build the app with Vite's production build,
// which is what the tests serve — so the tests prove the production build works.
import { build } from 'vite';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { findChromium } from './find-chromium.ts';

export const e2eDistDir = fileURLToPath(new URL('../../.e2e-dist/', import.meta.url));

export default async function setup(project: TestProject): Promise<void> {
  const chromePath = findChromium();
  await build({
    root: fileURLToPath(new URL('../../', import.meta.url)),
    logLevel: 'warn',
    build: { outDir: e2eDistDir, emptyOutDir: true },
  });
  project.provide('chromePath', chromePath);
  project.provide('distDir', e2eDistDir);
}

declare module 'vitest' {
  export interface ProvidedContext {
    chromePath: string;
    distDir: string;
  }
}
