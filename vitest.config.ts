import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/{unit,core,sim,signaling,contracts,node,fuzz}/**/*.test.ts'],
          environment: 'node',
          // Property tests run hundreds of cases: on a loaded 2-core machine 5 s is not enough.
          // A bound against hangs, never a speed check (speed lives in the benchmarks).
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/e2e/global-setup.ts'],
          // Real browsers on a 2-core machine: one file at a time, generous per-test deadlines.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
