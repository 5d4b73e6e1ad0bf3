// The abuse from issue 19, each from ONE client address, each as a real `ws` client would send
// it, at the server's limits (not far beyond them: what gets past the limits is the question).
// Every attack runs for `durationMs`, is bounded in connections and frames too, replaces the
// connections the server closes (an abuser reconnects), and closes every socket it opened.
// They run in their own process (attacker.ts), so the attacker's own work never delays the
// legitimate clients' event loop in the bench process.
import { benchIdentity, connectAndJoin, SimClient } from './clients.ts';
import { delay } from './servers.ts';
import * as limits from '../../signaling/limits.ts';
import { maxDataKeys, maxFrameBytes } from '../../signaling/protocol.ts';

export interface AttackContext {
  url: string;
  /** The one source address every attacking socket uses. */
  address: string;
  /** The room the legitimate newcomers join (where attacks that need a room aim). */
  bigRoom: string;
  durationMs: number;
}

export interface AttackReport {
  /** Sockets opened (including those refused at once). */
  connections: number;
  /** Joins answered `joined`. */
  joins: number;
  /** Joins refused or cut, by reason. */
  refusedJoins: Record<string, number>;
  /** Text frames and pings sent. */
  frames: number;
  pings: number;
  bytes: number;
  /** Sockets the server closed (not the attacker), by close code. */
  closedByServer: Record<string, number>;
}

export interface Attack {
  name: string;
  /** One line for the table's legend. */
  what: string;
  run(ctx: AttackContext): Promise<AttackReport>;
}

/** Connections the address may hold (the attacks use all of them) and seats it may take in one room. */
const connectionCap = limits.maxConnectionsPerAddress;
const seatCap = limits.maxSeatsPerAddressPerRoom;

/**
 * Identities the attacker rotates through, made once when its process starts (making one costs
 * milliseconds, which would otherwise throttle the attacker, not the server). Twice the
 * connection cap, so an id comes back only after its previous socket is long gone.
 */
const identities = Array.from({ length: 2 * connectionCap }, () => benchIdentity());
let nextIdentity = 0;

class Tally {
  readonly report: AttackReport = { connections: 0, joins: 0, refusedJoins: {}, frames: 0, pings: 0, bytes: 0, closedByServer: {} };
  private readonly sockets = new Set<SimClient>();
  private ending = false;

  /** Connects and joins, keeping the socket for the cleanup and counting its fate. */
  async join(url: string, room: string, address: string): Promise<SimClient | null> {
    this.report.connections++;
    const outcome = await connectAndJoin(url, room, address, identities[nextIdentity++ % identities.length]);
    if (!outcome.ok) {
      const why = outcome.why.split(' ').slice(0, 2).join(' '); // timeout, error <code>, closed <code>
      this.report.refusedJoins[why] = (this.report.refusedJoins[why] ?? 0) + 1;
      return null;
    }
    this.report.joins++;
    this.keep(outcome.client);
    return outcome.client;
  }

  /** Connects without joining (waits for the welcome); null when refused. */
  async connect(url: string, address: string): Promise<SimClient | null> {
    this.report.connections++;
    const client = new SimClient(url, address);
    this.keep(client);
    return (await Promise.race([client.welcomed(), delay(10_000).then(() => false)])) ? client : null;
  }

  send(client: SimClient, text: string): void {
    if (client.send(text)) {
      this.report.frames++;
      this.report.bytes += text.length;
    }
  }

  ping(client: SimClient): void {
    if (!client.open) return;
    client.ws.ping();
    this.report.pings++;
  }

  closeAll(): void {
    this.ending = true;
    for (const client of this.sockets) client.terminate();
  }

  private keep(client: SimClient): void {
    this.sockets.add(client);
    void client.closed.then(({ code }) => {
      this.sockets.delete(client);
      if (!this.ending) this.report.closedByServer[code] = (this.report.closedByServer[code] ?? 0) + 1;
    });
  }
}

/** Runs `fn` once per slot at up to `ratePerS`, at most `maxInFlight` at once, until `endMs` or `maxCount`. */
async function paced(ratePerS: number, endMs: number, maxCount: number, maxInFlight: number, fn: (i: number) => Promise<void>): Promise<void> {
  const start = performance.now();
  const pending = new Set<Promise<void>>();
  for (let i = 0; i < maxCount && performance.now() < endMs; i++) {
    const wait = start + (i * 1000) / ratePerS - performance.now();
    if (wait > 1) await delay(wait);
    while (pending.size >= maxInFlight) await Promise.race(pending);
    const p = fn(i).finally(() => pending.delete(p));
    pending.add(p);
  }
  await Promise.all(pending);
}

/**
 * Keeps `count` joined sockets (in rooms `roomOf(slot)`), replacing any the server closes, and
 * calls `tick` for each live one every `tickMs` until the end (`slots` holds them all by slot).
 */
async function holdAndRepeat(
  tally: Tally,
  ctx: AttackContext,
  count: number,
  roomOf: (slot: number) => string,
  tickMs: number,
  tick: (client: SimClient, slot: number, slots: ReadonlyArray<SimClient | null>) => void,
): Promise<void> {
  const end = performance.now() + ctx.durationMs;
  const slots: Array<SimClient | null> = new Array<SimClient | null>(count).fill(null);
  const maxReconnects = count * 20;
  let reconnects = 0;
  const filling = new Set<number>(); // one reconnect per slot at a time
  const fill = async (slot: number): Promise<void> => {
    if (reconnects++ >= maxReconnects || filling.has(slot)) return;
    filling.add(slot);
    slots[slot] = await tally.join(ctx.url, roomOf(slot), ctx.address);
    filling.delete(slot);
  };
  await Promise.all(slots.map((_, slot) => fill(slot)));
  while (performance.now() < end) {
    for (let slot = 0; slot < count; slot++) {
      const client = slots[slot];
      if (client && client.open) tick(client, slot, slots);
      else void fill(slot);
    }
    await delay(tickMs);
  }
}

function roomsSplit(ctx: AttackContext, other: string): (slot: number) => string {
  // The address may hold `seatCap` seats in one room: half of its sockets sit in the big room,
  // where legitimate newcomers arrive, the rest in a room of its own.
  return (slot) => (slot < seatCap ? ctx.bigRoom : other);
}

/** (a) Connections and seats up to every per-address cap, and then on trying for more. */
const seatFlood: Attack = {
  name: 'a-seat-flood',
  what: 'connections and seats from one address up to its caps, then retries at 400/s',
  async run(ctx) {
    const tally = new Tally();
    const end = performance.now() + ctx.durationMs;
    // Every third join opens a room of its own (the rooms-per-address cap), the rest go for seats in the big room.
    await paced(400, end, Math.ceil((ctx.durationMs / 1000) * 400), connectionCap, async (i) => {
      await tally.join(ctx.url, i % 3 === 0 ? `flood-${i % 40}` : ctx.bigRoom, ctx.address);
    });
    const rest = end - performance.now();
    if (rest > 0) await delay(rest);
    tally.closeAll();
    return tally.report;
  },
};

/**
 * (b) Sockets that never read: a quarter of the address's connections join and stop reading
 * (ws pause: the server's pings go unanswered too); the rest send them signals as large as a
 * frame may be, at the byte limit.
 */
const neverRead: Attack = {
  name: 'b-never-read',
  what: `${connectionCap / 4} joined sockets that stop reading; ${(connectionCap * 3) / 4} others relay ${Math.round(maxFrameBytes / 1024) - 4} KB signals to them at the byte limit`,
  async run(ctx) {
    const tally = new Tally();
    const sinks = connectionCap / 4;
    const payload = 'x'.repeat(maxFrameBytes - 4 * 1024);
    const roomOf = (slot: number): string => (slot % 2 === 0 ? ctx.bigRoom : 'sink-room');
    const sinkClients = (await Promise.all(Array.from({ length: sinks }, (_, slot) => tally.join(ctx.url, roomOf(slot), ctx.address)))).filter(
      (c): c is SimClient => c !== null,
    );
    for (const sink of sinkClients) sink.ws.pause();
    // Senders: one frame of ~60 KB per second each, the sustained byte rate (64 KB/s).
    await holdAndRepeat(
      tally,
      ctx,
      connectionCap - sinks,
      (slot) => roomOf(slot),
      1_000,
      (client, slot) => {
        const targets = sinkClients.filter((_, i) => roomOf(i) === roomOf(slot));
        const target = targets[slot % Math.max(1, targets.length)];
        if (target) tally.send(client, JSON.stringify({ type: 'signal', to: target.id, data: { blob: payload } }));
      },
    );
    tally.closeAll();
    return tally.report;
  },
};

/**
 * (c) CPU burn inside the limits: every connection sends one ~60 KB frame per second (the byte
 * limit), alternating a wide object with 5,000 keys (parsed, then refused for its key count)
 * and the widest object that passes (maxDataKeys keys, relayed to another attacker socket).
 */
const cpuBurn: Attack = {
  name: 'c-cpu-burn',
  what: `${connectionCap} sockets, each a ~60 KB frame a second: 5,000-key objects (refused) and ${maxDataKeys}-key ones (relayed)`,
  async run(ctx) {
    const tally = new Tally();
    const wide: Record<string, number> = {};
    for (let k = 0; k < 5_000; k++) wide[`k${k}`] = k;
    const widest: Record<string, string> = {};
    for (let k = 0; k < maxDataKeys - 1; k++) widest[`k${k}`] = 'v'.repeat(200);
    const frames = new Map<string, string[]>(); // prebuilt per target, so the attacker spends nothing per frame
    const frameFor = (to: string): string[] => {
      let pair = frames.get(to);
      if (!pair) {
        pair = [JSON.stringify({ type: 'signal', to, data: wide }), JSON.stringify({ type: 'signal', to, data: widest })];
        frames.set(to, pair);
      }
      return pair;
    };
    let round = 0;
    await holdAndRepeat(tally, ctx, connectionCap, roomsSplit(ctx, 'burn-room'), 1_000, (client, slot, slots) => {
      if (slot === 0) round++;
      // Slots 2k and 2k+1 share a room; the refused kind needs no live peer.
      const peer = slots[slot ^ 1];
      const relayable = peer?.open === true && peer.identity !== null;
      const kind = relayable ? (slot + round) % 2 : 0;
      tally.send(client, frameFor(relayable ? peer.id : client.id)[kind] as string);
    });
    tally.closeAll();
    return tally.report;
  },
};

/** (d) Deep nesting: 1,000 levels of arrays (~2 KB) at 30 frames/s per socket, both limits. */
const deepNesting: Attack = {
  name: 'd-deep-nesting',
  what: `${connectionCap} sockets, each 30 frames/s of data nested 1,000 levels deep`,
  async run(ctx) {
    const tally = new Tally();
    const depth = 1_000;
    const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    await holdAndRepeat(tally, ctx, connectionCap, roomsSplit(ctx, 'deep-room'), 100, (client) => {
      // Refused while decoding, before any routing: the address it names does not matter.
      const text = `{"type":"signal","to":"${client.id}","data":{"a":${deep}}}`;
      for (let k = 0; k < 3; k++) tally.send(client, text);
    });
    tally.closeAll();
    return tally.report;
  },
};

/** (e) Ping flood: every connection sends 1,000 pings a second; closed ones are reopened. */
const pingFlood: Attack = {
  name: 'e-ping-flood',
  what: `${connectionCap} sockets (not joined), each 1,000 pings/s, reconnecting when closed`,
  async run(ctx) {
    const tally = new Tally();
    const end = performance.now() + ctx.durationMs;
    const slots: Array<SimClient | null> = new Array<SimClient | null>(connectionCap).fill(null);
    const maxReconnects = connectionCap * 50;
    let reconnects = 0;
    const refill = async (slot: number): Promise<void> => {
      if (reconnects++ >= maxReconnects) return;
      slots[slot] = await tally.connect(ctx.url, ctx.address);
    };
    await Promise.all(slots.map((_, slot) => refill(slot)));
    const refilling = new Set<number>();
    while (performance.now() < end) {
      for (let slot = 0; slot < connectionCap; slot++) {
        const client = slots[slot];
        if (client?.open) {
          for (let k = 0; k < 25; k++) tally.ping(client);
        } else if (!refilling.has(slot)) {
          refilling.add(slot);
          void refill(slot).finally(() => refilling.delete(slot));
        }
      }
      await delay(25);
    }
    tally.closeAll();
    return tally.report;
  },
};

/** (f) Join/leave churn in the big room: join, leave at once, again, as fast as the seats allow. */
const joinChurn: Attack = {
  name: 'f-join-churn',
  what: `join then leave the big room at up to 300 joins/s, ${seatCap} at once`,
  async run(ctx) {
    const tally = new Tally();
    const end = performance.now() + ctx.durationMs;
    await paced(300, end, Math.ceil((ctx.durationMs / 1000) * 300), seatCap, async () => {
      const client = await tally.join(ctx.url, ctx.bigRoom, ctx.address);
      if (client) await client.leave();
    });
    tally.closeAll();
    return tally.report;
  },
};

export const attacks: readonly Attack[] = [seatFlood, neverRead, cpuBurn, deepNesting, pingFlood, joinChurn];
