#!/usr/bin/env node
// `npm run node -- …` in a checkout: the headless Node peer (src/node/main.ts) straight from its
// TypeScript sources through tsx (a development dependency), in this one process — so a signal
// sent to this pid reaches the node itself, and there is no build step to forget. The installed
// package's `tabmesh-node` command is the compiled lib/node-cli.js (package.json "bin").
import { register } from 'tsx/esm/api';

register();
await import('../src/node/main.ts');
