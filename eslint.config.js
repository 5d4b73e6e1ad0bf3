import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import svelteConfig from './svelte.config.js';

// Cores must be deterministic (docs/architecture.md, convention 1): time, randomness and I/O come in as
// inputs, so the same core runs unchanged in a tab and in the seeded simulator.
const forbiddenInCores = [
  { name: 'Date', message: 'Cores take time as an input (now: Millis).' },
  { name: 'setTimeout', message: 'Cores ask for wake-ups through effects; the runtime owns timers.' },
  { name: 'setInterval', message: 'Cores ask for wake-ups through effects; the runtime owns timers.' },
  { name: 'crypto', message: 'Signing and verifying happen in the runtime, outside the core.' },
  { name: 'fetch', message: 'Cores do no I/O.' },
  { name: 'indexedDB', message: 'Cores emit persist effects; the runtime writes storage.' },
  { name: 'performance', message: 'Cores take time as an input.' },
  { name: 'window', message: 'Cores run without a DOM.' },
  { name: 'document', message: 'Cores run without a DOM.' },
];

// The runtime and its services take time and timers from RuntimeOptions (src/worker/clock.ts),
// so the simulator can run the whole node on a virtual clock; src/worker/real-clock.ts is the
// one edge that touches the host's.
const forbiddenInRuntime = [
  { name: 'Date', message: 'Read the injected Clock (clock.now()); only src/worker/real-clock.ts reads Date.' },
  { name: 'performance', message: 'Read the injected Clock (clock.monotonic()); only src/worker/real-clock.ts reads performance.' },
  { name: 'setTimeout', message: 'Use the injected Timers (RuntimeOptions.timers, ServiceContext.timers).' },
  { name: 'clearTimeout', message: 'Use the injected Timers (RuntimeOptions.timers, ServiceContext.timers).' },
  { name: 'setInterval', message: 'Use the injected Timers and re-arm (RuntimeOptions.timers).' },
  { name: 'clearInterval', message: 'Use the injected Timers (RuntimeOptions.timers).' },
];

export default tseslint.config(
  { ignores: ['dist/', 'lib/', '**/dist-esbuild/', '.e2e-dist/', 'node_modules/', 'bench/results/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // A ratchet on line length and function length (issue 18, item 7): the limits are the current
  // worst, measured with `npx eslint . --rule '{"max-len":["error",{"code":1}],
  // "max-lines-per-function":["error",{"max":1}]}'` after formatting with prettier. Set on
  // 2026-12-06 at 422 characters and 657 lines; lowered the same day (signaling/hub.ts split
  // into signaling/hub/, long test describes split; then createMeshNode split into
  // src/page-node.ts, long lines of bench/peers and the demo shortened) to the worst left:
  //   everywhere: a 248-character line (test/nat-lab/netns.ts, chaos/run.ts) and a 230-line
  //     function (test/core/overlay/overlay.test.ts; next test/unit/steal-service/app-kernels.test.ts
  //     223, test/core/route/router.test.ts 211, test/core/pbft/membership.test.ts 174);
  //     test/sim/vopr/ needs no exception any more (its longest line is 186 characters);
  //   src/: a 234-character line (src/node/log-format.ts) and a 111-line function
  //     (src/worker/runtime.ts load; next src/node/peer.ts startOnDataDir 104).
  // These numbers only ever go down: when the worst offender is split, lower them to the new
  // worst. Never raise them; shorten the new code instead.
  {
    rules: {
      'max-len': ['error', { code: 248 }],
      'max-lines-per-function': ['error', { max: 230 }],
    },
  },
  {
    files: ['src/**'],
    rules: {
      'max-len': ['error', { code: 234 }],
      'max-lines-per-function': ['error', { max: 111 }],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'], svelteConfig } },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', ...forbiddenInCores],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Use the injected, seeded Rng.' }],
      'no-restricted-syntax': ['error', { selector: 'AwaitExpression', message: 'Cores are synchronous state machines.' }],
    },
  },
  {
    files: ['src/worker/**/*.ts'],
    ignores: ['src/worker/real-clock.ts'],
    rules: {
      'no-restricted-globals': ['error', ...forbiddenInRuntime],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: "Use the service's seeded Rng (ServiceContext.rng)." }],
    },
  },
);
