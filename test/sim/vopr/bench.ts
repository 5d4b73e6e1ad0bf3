// placeholder replaced below
export async function runBench(_o: { nodes: number[]; virtualSeconds: number; signatures: 'fast' | 'ed25519' }): Promise<void> {}
