// Entry of a Node peer's kernel thread. Node does not apply the parent's tsx loader to a
// worker's own entry file, so this plain-JavaScript file registers tsx and then loads the
// TypeScript kernel thread.
import { register } from 'tsx/esm/api';

register();
await import('./kernel-thread.ts');
