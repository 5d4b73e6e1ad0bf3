// The page's module-worker probe (src/capability-probes.ts): it answers 'module' only when it
// runs as a module. `import.meta` is a syntax error in a classic worker, so a browser that
// ignores { type: 'module' } gets an error event instead of an answer.
const scope = self as unknown as { postMessage(message: unknown): void };
scope.postMessage(typeof import.meta.url === 'string' ? 'module' : 'no import.meta.url');

export {};
