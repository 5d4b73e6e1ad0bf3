// The guided tour: five steps a presenter walks through with the arrow keys. Each step's "Run"
// does real things to the real room (a proposal, a fault click, a compute job); what the view
// then draws comes from the nodes' traces like everything else.
import type { ByzantineMode } from '../../core/pbft/index.ts';
import type { FaultAction } from '../../worker/services/demo-messages.ts';

export interface TourRoom {
  /** Proposes an operation from this screen's node (a client of the room's consensus). */
  propose(text: string): Promise<unknown>;
  fault(node: string, action: FaultAction, mode?: ByzantineMode): Promise<string>;
  /** Brings every node back (honest, links allowed). */
  restoreAll(): Promise<void>;
  primary(): string | null;
  replicas(): string[];
  f(): number;
  /** Starts a Mandelbrot job shared by the room; resolves with its id. */
  startMandelbrot(): Promise<string>;
}

export interface TourStep {
  id: 'normal' | 'silent-primary' | 'equivocate' | 'too-many' | 'mandelbrot';
  title: string;
  /** What the audience should watch for. */
  text: string;
  run(room: TourRoom): Promise<string>;
}

const short = (id: string): string => id.slice(0, 6);

export const tourSteps: readonly TourStep[] = [
  {
    id: 'normal',
    title: '1 · The normal case',
    text:
      'A request goes to the primary. It orders it (pre-prepare), every replica says it saw the same order (prepare), ' +
      'then that it is ready (commit) once 2f+1 agree, and each replies. The client waits for f+1 matching replies.',
    async run(room) {
      await room.restoreAll();
      void room.propose(`hello from the demo screen at ${new Date().toLocaleTimeString()}`).catch(() => {});
      return 'proposed one operation: watch it go round';
    },
  },
  {
    id: 'silent-primary',
    title: '2 · A silent primary',
    text:
      'The primary goes silent. The replicas hold the request, their timers run out, and they vote for a view change (red). ' +
      'The next replica in line becomes primary with a new-view, and the request commits in the new view.',
    async run(room) {
      const primary = room.primary();
      if (!primary) throw new Error('no primary yet: wait for the replicas to report');
      await room.fault(primary, 'byzantine', 'silent');
      void room.propose('a request the silent primary ignores').catch(() => {});
      return `made ${short(primary)} silent and proposed: a view change follows in a few seconds`;
    },
  },
  {
    id: 'equivocate',
    title: '3 · An equivocating primary',
    text:
      'The primary tells half the replicas one order and the other half another. Neither half gathers 2f+1 matching prepares, ' +
      'so nothing wrong commits: the replicas time out and replace it, and the honest logs stay equal.',
    async run(room) {
      await room.restoreAll();
      const primary = room.primary();
      if (!primary) throw new Error('no primary yet');
      await room.fault(primary, 'byzantine', 'equivocate');
      void room.propose('a request the primary orders twice').catch(() => {});
      return `made ${short(primary)} equivocate and proposed`;
    },
  },
  {
    id: 'too-many',
    title: '4 · f + 1 faults: nothing commits, and why',
    text: 'With n = 3f+1 replicas, a commit needs 2f+1 matching votes. Cut f+1 replicas off and only 2f are left: never enough. Nothing commits — safely — until one comes back.',
    async run(room) {
      await room.restoreAll();
      const primary = room.primary();
      const victims = room
        .replicas()
        .filter((id) => id !== primary)
        .slice(0, room.f() + 1);
      if (victims.length < room.f() + 1) throw new Error('not enough replicas to cut off');
      for (const id of victims) await room.fault(id, 'partition');
      void room.propose('a request that cannot commit').catch(() => {});
      return `cut off ${victims.map(short).join(', ')}: press Run again on step 1 (or “Bring all back”) to heal`;
    },
  },
  {
    id: 'mandelbrot',
    title: '5 · A Mandelbrot job shared by the room',
    text: 'This screen asks for a Mandelbrot image. Idle nodes steal its tiles: each tile flies to the node that computed it, as its result is accepted.',
    async run(room) {
      await room.restoreAll();
      const id = await room.startMandelbrot();
      return `job ${id.slice(0, 8)} started`;
    },
  },
];
