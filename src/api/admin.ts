// room.admin: what the dashboard (and window.tabmesh) does to its node beyond the app API —
// live settings, link bounds, the consensus demo's Byzantine mode and built-in decision log,
// the built-in compute jobs, fault injection on links, the stored status record and the
// diagnostic text messages. Typed and checked here, so no caller sends raw command strings.
// Apps rarely need it: room.channel, room.consensus and room.compute are the app-facing parts.
import type { NodeBackend } from './backend.ts';
import { InvalidArgumentError } from './errors.ts';
import { byzantineModes, type ByzantineMode } from '../core/pbft/byzantine.ts';
import { priorities, type Priority } from '../core/steal/messages.ts';
import { checkSettings, type MeshSettings } from '../worker/services/settings-schema.ts';
import type { StatusRecord } from '../worker/services/status-record.ts';
import type { TilesPage } from '../worker/services/steal-results.ts';

export type { MeshSettings, ByzantineMode, Priority, StatusRecord, TilesPage };

/** A built-in compute job: everything but `kind` has a default (the kind's own parameters, chunks, 'medium', 1). */
export interface JobRequest {
  /** 'mandelbrot' | 'primes' | 'monte-carlo-pi' | 'proof-of-work' (or a kind the app registered). */
  kind: string;
  /** The kind's parameters (checked by the node). */
  params?: unknown;
  /** Tasks to split the job into (Mandelbrot: ignored, its tiles decide). */
  chunks?: number;
  /** 'critical' | 'high' | 'medium' | 'low'. */
  priority?: Priority;
  /** 1, or 2–3 for verified mode: each task runs on that many distinct nodes that must agree. */
  redundancy?: number;
}

/** The node's controls (the dashboard's); every call rejects with a typed error saying what to change. */
export interface RoomAdmin {
  /** The settings in force (fanout, gossipCycleMs, minLinks, maxLinks, batchSize, byzantine). */
  settings(): Promise<MeshSettings>;
  /** Changes any subset of the settings live; resolves with the settings in force. Out-of-range values reject with an InvalidArgumentError. */
  setSettings(change: Partial<MeshSettings>): Promise<MeshSettings>;
  /** Sets how many direct links this node keeps (live); resolves with the bounds in force. */
  setLinkBounds(minLinks: number, maxLinks: number): Promise<{ minLinks: number; maxLinks: number }>;
  /** Makes this node's consensus replica misbehave on purpose (the live demo), or honest again with null. */
  setByzantine(mode: ByzantineMode | null): Promise<void>;
  /**
   * Proposes an operation to the room's built-in pBFT decision log: text or any JSON value, or
   * { kind: 'kv-set', key, value } / { kind: 'kv-del', key }. Resolves with the committed sequence
   * number once f+1 replicas replied alike.
   */
  propose(op: unknown): Promise<number>;
  /** Submits a built-in compute job that the mesh shares out; resolves with its id (see snapshot().jobs). */
  submitJob(job: JobRequest): Promise<string>;
  /** The assembled result of a job of this node once it is done (Mandelbrot: { width, height, pixels }). */
  jobResult(id: string): Promise<unknown>;
  /** Cancels a queued or running job of this node. */
  cancelJob(id: string): Promise<void>;
  /** Accepted results of a job from position `after` on, a page at a time (the Mandelbrot canvas draws them). */
  jobTiles(id: string, after: number): Promise<TilesPage>;
  /** Breaks the direct link to `peer` as a network fault would (the mesh heals it): for demos and tests. */
  dropLink(peer: string): Promise<void>;
  /** Reconnects to the signaling server now. */
  reconnectSignaling(): Promise<void>;
  /** This node's status record `swarm/mesh/topology`, read back from its storage. */
  statusRecord(): Promise<StatusRecord | null>;
  /** Sends a diagnostic text message over the direct link to `peer` (shown in its snapshot().messages). */
  sendText(peer: string, text: string): Promise<void>;
  /** Sends a diagnostic text message to every directly linked node; resolves with how many. */
  broadcastText(text: string): Promise<number>;
}

const text = (value: unknown, argument: string): string => {
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(argument, 'must be a non-empty string');
  return value;
};

const count = (value: unknown, argument: string): number => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new InvalidArgumentError(argument, 'must be a whole number, 0 or more');
  return value;
};

/** room.admin over `backend` (the room's fenced node: RoomClosedError after leave, typed refusals). */
export function createAdmin(backend: NodeBackend): RoomAdmin {
  const run = (name: string, ...args: unknown[]) => backend.command(name, ...args);
  return {
    settings: async () => (await run('settings')) as MeshSettings,
    async setSettings(change) {
      const checked = checkSettings(change);
      if (!checked.ok) throw new InvalidArgumentError('admin.setSettings: change', checked.error);
      return (await run('setSettings', checked.value)) as MeshSettings;
    },
    async setLinkBounds(minLinks, maxLinks) {
      count(minLinks, 'admin.setLinkBounds: minLinks');
      count(maxLinks, 'admin.setLinkBounds: maxLinks');
      return (await run('setLinkBounds', minLinks, maxLinks)) as { minLinks: number; maxLinks: number };
    },
    async setByzantine(mode) {
      if (mode !== null && !byzantineModes.includes(mode))
        throw new InvalidArgumentError('admin.setByzantine: mode', `must be null (honest) or one of ${byzantineModes.join(', ')}`);
      await run('setByzantine', mode);
    },
    async propose(op) {
      if (op === undefined) throw new InvalidArgumentError('admin.propose: op', 'is missing: give text, a JSON value or a kv-set / kv-del operation');
      return (await run('propose', op)) as number;
    },
    async submitJob(job) {
      if (job === null || typeof job !== 'object') throw new InvalidArgumentError('admin.submitJob: job', "must be an object such as { kind: 'primes' }");
      text(job.kind, 'admin.submitJob: job.kind');
      if (job.priority !== undefined && !priorities.includes(job.priority))
        throw new InvalidArgumentError('admin.submitJob: job.priority', `must be one of ${priorities.join(', ')}`);
      return (await run('submitJob', job)) as string;
    },
    jobResult: async (id) => run('jobResult', text(id, 'admin.jobResult: id')),
    async cancelJob(id) {
      await run('cancelJob', text(id, 'admin.cancelJob: id'));
    },
    jobTiles: async (id, after) => (await run('jobTiles', text(id, 'admin.jobTiles: id'), count(after, 'admin.jobTiles: after'))) as TilesPage,
    async dropLink(peer) {
      await run('dropLink', text(peer, 'admin.dropLink: peer'));
    },
    async reconnectSignaling() {
      await run('reconnectSignaling');
    },
    statusRecord: async () => (await run('statusRecord')) as StatusRecord | null,
    async sendText(peer, message) {
      await run('send', text(peer, 'admin.sendText: peer'), text(message, 'admin.sendText: text'));
    },
    broadcastText: async (message) => (await run('broadcast', text(message, 'admin.broadcastText: text'))) as number,
  };
}
