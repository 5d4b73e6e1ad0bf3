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
);
