// Limits of the apps' own state machines (app-machines.ts). Like constants.ts they shape the
// replicated state, so every node of a room must use the same; each says what happens when full.

/** A machine's name: a namespace of its own operations (several machines per room). */
export const appMachineNamePattern = /^[a-z][a-z0-9._-]{0,63}$/;
/**
 * Every this many operations of a machine, each replica's app votes the machine's snapshot
 * (an `app-checkpoint` operation). f+1 matching votes certify it; the operations up to it are
 * then dropped from the replicated state, and a node that joins later restores from it.
 */
export const appCheckpointEveryOps = 16;
/**
 * Operations of one machine kept after its last certified snapshot. When full, new operations
 * of that machine are refused (with a reason) until f+1 replicas' apps have voted a snapshot:
 * a room where fewer than f+1 replicas run the machine cannot grow it without bound.
 */
export const maxAppOpsRetained = 4 * appCheckpointEveryOps;
/** Machines per room; an operation of a further machine is refused. */
export const maxAppMachines = 8;
/**
 * Largest app snapshot (UTF-8 bytes of its canonical JSON). It travels inside one request, so
 * it must fit the room's maxBatchBytes (8 KiB by default) with the request around it.
 */
export const maxAppSnapshotBytes = 6 * 1024;
/**
 * Characters of all machines' retained operations, certified snapshots and votes together;
 * an operation or vote that would go beyond it is refused. Keeps the replicated state (which
 * checkpoints digest and state transfer moves) far below maxStateChars.
 */
export const maxAppStateChars = 512 * 1024;
/** Snapshot checks that found replicas disagreeing, kept per machine (the newest). */
export const maxAppDivergencesKept = 8;
