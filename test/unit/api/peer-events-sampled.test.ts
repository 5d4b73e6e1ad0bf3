// Peer events in a room larger than gossip's sample: the worker's members service over a sampled
// gossip view (test/unit/sampled-gossip.ts), its payloads carried to a Room as the page gets
// them. The test plays gossip the way src/core/gossip/core.ts (`hold`) behaves with a full table:
// a member rotating in is announced 'alive', one rotating out is dropped without a word, and a
// death or departure is held and announced whatever the sample. The app must see the room as
// this node has learnt it: a peer-join the first time a peer is learnt, a peer-leave only for a
// death or departure, and none for a sample's rotation or a worker restart.
import { describe, expect, it } from 'vitest';
import type { MemberStatus } from '../../../src/core/gossip/index.ts';
import { createRng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { RoomImpl } from '../../../src/api/room.ts';
import { GossipService } from '../../../src/worker/services/gossip.ts';
import { MembershipEventsService } from '../../../src/worker/services/membership-events.ts';
import { fakeServiceContext } from '../fake-service-context.ts';
import { gossipWithTable } from '../sampled-gossip.ts';
import { FakeBackend, nodeId } from './fake-backend.ts';

const self = nodeId(0) as NodeId;
const viewSize = 6;
/** Lets the service's queued publication and the room's first 'members' command run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One node of a large room: a gossip table the test rotates, the worker's members service over it, and the app's Room. */
class SampledNode {
  /** The member table as gossip would hold it: self, at most `viewSize` live members, and the dead and departed heard of (changed in place: the view reads it). */
  table: Array<[string, MemberStatus]> = [[self, 'alive']];
  service!: MembershipEventsService;
  readonly backend = new FakeBackend();
  readonly log: string[] = [];
  readonly room: RoomImpl;

  private constructor(private readonly real: GossipService) {
    this.room = new RoomImpl(this.backend, self, 'big');
    this.room.on('peer-join', (peer) => this.log.push(`join ${peer}`));
    this.room.on('peer-leave', (peer) => this.log.push(`leave ${peer}`));
  }

  static async create(): Promise<SampledNode> {
    const real = new GossipService();
    await real.start(fakeServiceContext(() => 1_700_000_000_000, 3, { self }));
    const node = new SampledNode(real);
    await node.startWorker([]);
    return node;
  }

  /** A (re)started worker: a fresh table of `held` (gossip keeps no members across a restart), and a members service over it. */
  async startWorker(held: Array<[string, MemberStatus]>): Promise<void> {
    this.table = [[self, 'alive'], ...held];
    this.service = new MembershipEventsService(gossipWithTable(this.real, this.table, true, viewSize));
    const service = this.service;
    this.backend.answer = (name) => (name === 'members' ? service.commands.members() : true);
    const ctx = fakeServiceContext(() => 1_700_000_000_000, 5, { self, publishEvent: (name, payload) => this.backend.publishEvent(name, payload) });
    await service.start(ctx);
    await settle();
  }

  live(): string[] {
    return this.table.filter(([id, status]) => id !== self && (status === 'alive' || status === 'suspect')).map(([id]) => id);
  }

  /** Peer sampling brings `peer` in, in place of `evicted` (dropped without an event) when the table is full. */
  rotateIn(peer: string, evicted?: string): void {
    if (evicted !== undefined)
      this.table.splice(
        this.table.findIndex(([id]) => id === evicted),
        1,
      );
    this.table.push([peer, 'alive']);
    this.service.onEvent({ type: 'member-status', peer: peer as NodeId, status: 'alive' });
  }

  /** News of `peer`'s death or departure, held whether or not the sample holds it. */
  depart(peer: string, status: 'dead' | 'left'): void {
    const held = this.table.find(([id]) => id === peer);
    if (held) held[1] = status;
    else this.table.push([peer, status]);
    this.service.onEvent({ type: 'member-status', peer: peer as NodeId, status });
  }
}

const peer = (n: number) => nodeId(n);

describe('peer events over a sampled gossip view', () => {
  it('a member rotating out stays a peer; rotating back in says nothing; its death anywhere is a peer-leave', async () => {
    const node = await SampledNode.create();
    for (let n = 1; n <= viewSize; n++) node.rotateIn(peer(n));
    await settle();
    node.rotateIn(peer(7), peer(1)); // 1 rotates out: no leave
    node.rotateIn(peer(8), peer(2));
    await settle();
    node.rotateIn(peer(1), peer(7)); // 1 back: already a peer; 7 out
    node.depart(peer(2), 'dead'); // 2 is outside the sample when it dies
    node.depart(peer(8), 'left');
    await settle();
    expect(node.log).toEqual([...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => `join ${peer(n)}`), `leave ${peer(2)}`, `leave ${peer(8)}`]);
    expect(node.room.peers()).toEqual([1, 3, 4, 5, 6, 7].map(peer));
    expect(node.live()).not.toContain(peer(7));
  });

  it('a restarted worker with another sample gives no peer-leave for the peers outside it, and still reports their deaths', async () => {
    const node = await SampledNode.create();
    for (let n = 1; n <= viewSize; n++) node.rotateIn(peer(n));
    await settle();
    node.log.length = 0;
    // The new worker starts from a full node's list: a sample of others, and a death it holds.
    await node.startWorker([
      [peer(5), 'alive'],
      [peer(9), 'alive'],
      [peer(10), 'alive'],
      [peer(1), 'dead'],
    ]);
    expect(node.log).toEqual([`leave ${peer(1)}`, `join ${peer(9)}`, `join ${peer(10)}`]);
    node.depart(peer(3), 'dead'); // the new worker never held 3
    node.rotateIn(peer(2)); // already a peer from before the restart
    await settle();
    expect(node.log.slice(3)).toEqual([`leave ${peer(3)}`]);
    expect(node.room.peers()).toEqual([2, 4, 5, 6, 9, 10].map(peer));
  });

  it('seeded churn with restarts: peers() is every peer learnt and not heard to depart, and every leave is a departure', async () => {
    for (const seed of [1, 2, 3]) {
      const rng = createRng(`sampled-peer-events-${seed}`);
      const node = await SampledNode.create();
      const roomSize = 30;
      const gone = new Set<string>();
      /** What the app must hold: learnt and not heard to depart (the model). */
      const expected = new Set<string>();
      let unheld = 0;
      const alive = () => Array.from({ length: roomSize }, (_, i) => peer(i + 1)).filter((id) => !gone.has(id));
      for (let step = 0; step < 300; step++) {
        const roll = rng.next();
        if (step === 150 || step === 270) {
          const held = rng.shuffle(alive()).slice(0, viewSize);
          await node.startWorker(held.map((id) => [id, 'alive']));
          for (const id of held) expected.add(id);
        } else if (roll < (step > 270 ? 0.2 : 0.6)) {
          const newcomer = rng.pick(alive().filter((id) => !node.live().includes(id)));
          if (newcomer === undefined) continue;
          node.rotateIn(newcomer, node.live().length >= viewSize ? rng.pick(node.live()) : undefined);
          expected.add(newcomer);
        } else if (roll < 0.8) {
          const victim = rng.pick(alive());
          if (victim === undefined) continue;
          gone.add(victim);
          if (!node.live().includes(victim)) unheld++;
          node.depart(victim, rng.next() < 0.5 ? 'dead' : 'left');
          expected.delete(victim);
        } else {
          // A departed member comes back (a restart of its own): news of it alive again, through the sample.
          const back = rng.pick([...gone]);
          if (back === undefined) continue;
          gone.delete(back);
          const record = node.table.findIndex(([id]) => id === back);
          if (record >= 0) node.table.splice(record, 1); // its dead record, overruled by the newer incarnation
          node.rotateIn(back, node.live().length >= viewSize ? rng.pick(node.live()) : undefined);
          expected.add(back);
        }
        await settle();
        expect(new Set(node.room.peers()), `seed ${seed} step ${step}`).toEqual(expected);
      }
      // The script did what it is for: many departures, many of them of peers outside the sample or the restarted worker's view.
      const leaves = node.log.filter((line) => line.startsWith('leave'));
      expect(leaves.length, `seed ${seed}`).toBeGreaterThan(30);
      expect(unheld, `seed ${seed}`).toBeGreaterThan(10);
      expect(node.log.filter((line) => line.startsWith('join')).length, `seed ${seed}`).toBeGreaterThan(roomSize - 5);
    }
  });
});

describe("the 'members' command", () => {
  it('answers the lists as they are, so a Room opened later starts from them (peers learnt, none of the departed)', async () => {
    const node = await SampledNode.create();
    node.rotateIn(peer(1));
    node.rotateIn(peer(2));
    node.depart(peer(2), 'dead');
    await settle();
    expect(node.service.commands.members()).toEqual({ members: [peer(1)], departed: [peer(2)] });
    const later = new RoomImpl(node.backend, self, 'big');
    const log: string[] = [];
    later.on('peer-leave', (left) => log.push(left));
    await settle();
    expect(later.peers()).toEqual([peer(1)]);
    expect(log).toEqual([]);
  });
});
