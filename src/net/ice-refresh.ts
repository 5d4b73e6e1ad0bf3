// Keeps short-lived TURN credentials fresh in a node that outlives them. The server issues
// TURN REST credentials (signaling/turn-credentials.ts) whose username starts with their
// expiry in Unix seconds; a TURN server refuses new allocations, and refreshes of old ones,
// once it has passed. So a node asks for its ICE servers again halfway to the earliest expiry,
// and opens every new link with the newest ones. Static credentials (no expiry) are never
// asked for again.
import type { IceServer } from './transport.ts';
import { decodeWith } from '../core/decode.ts';
import { clientConfigPath, clientConfigSchema } from '../../signaling/ice-config.ts';

/** Least time between two refreshes (also the retry delay after a failed one): the server is not polled. */
export const minIceRefreshMs = 30_000;
/** A TURN REST username: `<expiry unix seconds>:<tag>`. */
const restUsername = /^(\d{9,11}):/;

/** The earliest expiry (Unix seconds) among TURN REST credentials in `servers`, or null if none expire. */
export function earliestIceExpiryS(servers: readonly IceServer[]): number | null {
  let earliest: number | null = null;
  for (const server of servers) {
    const match = server.username === undefined ? null : restUsername.exec(server.username);
    if (!match) continue;
    const expiry = Number(match[1]);
    if (earliest === null || expiry < earliest) earliest = expiry;
  }
  return earliest;
}

/** When to ask again: halfway to the earliest expiry, never sooner than minIceRefreshMs; null: never. */
export function iceRefreshDelayMs(servers: readonly IceServer[], nowMs: number): number | null {
  const expiry = earliestIceExpiryS(servers);
  if (expiry === null) return null;
  return Math.max(minIceRefreshMs, (expiry * 1000 - nowMs) / 2);
}

export interface IceRefresherDeps {
  /** Asks the server again; null when it could not (kept: the old ones, retried later). */
  fetchFresh(): Promise<IceServer[] | null>;
  nowMs(): number;
  schedule(fn: () => void, ms: number): () => void;
}

/** Holds the newest ICE servers and fetches new ones before their credentials expire. */
export class IceRefresher {
  private servers: IceServer[];
  private cancel: (() => void) | null = null;
  private stopped = false;
  refreshes = 0;
  failures = 0;

  constructor(
    initial: IceServer[],
    private readonly deps: IceRefresherDeps,
  ) {
    this.servers = initial;
    this.plan();
  }

  /** The ICE servers to open a link with now. */
  get current(): IceServer[] {
    return this.servers;
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
    this.cancel = null;
  }

  private plan(retry = false): void {
    if (this.stopped) return;
    const delay = retry ? minIceRefreshMs : iceRefreshDelayMs(this.servers, this.deps.nowMs());
    if (delay === null) return;
    this.cancel = this.deps.schedule(() => void this.refresh(), delay);
  }

  private async refresh(): Promise<void> {
    this.cancel = null;
    let fresh: IceServer[] | null;
    try {
      fresh = await this.deps.fetchFresh();
    } catch {
      fresh = null;
    }
    if (this.stopped) return;
    if (fresh === null) {
      this.failures++;
      this.plan(true);
      return;
    }
    this.servers = fresh;
    this.refreshes++;
    this.plan();
  }
}

/** GET /config.json again, as the page did at start; null when it cannot be read or checked. */
export async function fetchConfiguredIceServers(): Promise<IceServer[] | null> {
  try {
    const response = await fetch(clientConfigPath, { cache: 'no-store' });
    if (!response.ok) return null;
    const decoded = decodeWith(clientConfigSchema, await response.json());
    return decoded.ok ? decoded.value.iceServers : null;
  } catch {
    return null;
  }
}

/** A refresher on the real clock that re-reads this origin's /config.json. */
export function startIceRefresh(initial: IceServer[]): IceRefresher {
  return new IceRefresher(initial, {
    fetchFresh: fetchConfiguredIceServers,
    nowMs: () => Date.now(),
    schedule: (fn, ms) => {
      const timer = setTimeout(fn, ms);
      return () => clearTimeout(timer);
    },
  });
}
