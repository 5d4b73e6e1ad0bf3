#!/usr/bin/env node
// `npx tabmesh-node …`: runs the headless Node peer (src/node/main.ts) straight from its
// TypeScript sources through tsx (a dependency), in this one process — so a signal sent to
// this pid reaches the node itself, and there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../src/node/main.ts');
