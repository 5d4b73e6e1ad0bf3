// window.tabmesh.debug: fault injection and deep reads for the chaos run (`npm run chaos`) and
// for people poking at a mesh from devtools. Nothing here is needed to use a mesh; every method
// is a node command, checked in the worker like any other (src/worker/debug-commands.ts).
import type { FloodKind, FloodReport } from './worker/debug-commands.ts';
import type { TileEntry, TilesPage } from './worker/services/steal-results.ts';

export type { FloodKind, FloodReport };

/** One accepted result of a job, without its value: which task, and which nodes computed it. */
export interface AcceptedTask {
  index: number;
  nodes: string[];
}

export interface TabmeshDebugApi {
  /**
   * Misbehaves towards `peer` on purpose: sends `frames` frames over the direct link as fast as
   * it can — `'rapid'` well-formed frames far over the rate limit, `'large'` frames of the largest
   * size a peer accepts (256 KiB, at most 40), `'garbage'` bytes that do not decode, or `'mixed'`
   * (default: all three in turn). The peer's guard throttles this node and then cuts it off for a
   * minute; see its snapshot().rejected and keptOut. Resolves with what was handed to the link.
   */
  flood(peer: string, frames: number, kind?: FloodKind): Promise<FloodReport>;
  /**
   * The tasks of a job of this node whose result was accepted, in the order they were accepted,
   * with the nodes that computed each (values left out). Compare with the job's `done` and
   * `shares` in snapshot().jobs: the chaos run checks that each task was accepted exactly once.
   */
  acceptedTasks(jobId: string): Promise<AcceptedTask[]>;
  /**
   * Makes this tab's protocol worker throw an uncaught error (after replying): the page's
   * supervisor terminates it and starts a fresh one that reloads its state from IndexedDB and
   * rejoins (snapshot().recovery counts it; the dashboard says so). Resolves once it is taken.
   */
  crashWorker(): Promise<true>;
  /** Makes the protocol worker hang (an endless loop): the supervisor's watchdog restarts it after 20 s of silence. */
  hangWorker(): Promise<true>;
}

/** Pages of jobTiles read at most, so a bad answer cannot loop forever (a job has at most 4,096 tasks). */
const maxTilePages = 512;

/** room.debug (and window.tabmesh.debug) over a node's command channel. */
export function debugApi(node: { command(name: string, ...args: unknown[]): Promise<unknown> }): TabmeshDebugApi {
  return {
    crashWorker: () => node.command('crashWorker') as Promise<true>,
    hangWorker: () => node.command('hangWorker') as Promise<true>,
    flood: (peer, frames, kind) => node.command('flood', peer, frames, ...(kind === undefined ? [] : [kind])) as Promise<FloodReport>,
    async acceptedTasks(jobId) {
      const out: AcceptedTask[] = [];
      let after = 0;
      for (let round = 0; round < maxTilePages; round++) {
        const page = (await node.command('jobTiles', jobId, after)) as TilesPage;
        out.push(...page.tiles.map((t: TileEntry) => ({ index: t.index, nodes: [...t.nodes] })));
        if (page.tiles.length === 0 || page.next <= after) return out;
        after = page.next;
      }
      throw new Error(`acceptedTasks(${jobId}): more than ${maxTilePages} pages of results`);
    },
  };
}
