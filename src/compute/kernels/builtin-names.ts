// The names of the kinds shipped with every node, on their own so the page can know them
// without bundling the kernels themselves (they run in kernel workers).
export const builtinKindNames = ['mandelbrot', 'primes', 'monte-carlo-pi', 'proof-of-work'] as const;
