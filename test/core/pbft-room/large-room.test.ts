// The founding rule over a whole simulated room larger than gossip's member table: real gossip
// cores (each holding a random sample of viewSize members, peer sampling, SWIM over the sample,
// the replicated memory), one GenesisAgreement per node fed as the pBFT service feeds it
// (src/worker/services/pbft.ts: a look every 250 ms at the members, the table's fullness and the
// `pbft/genesis` key), and a server that introduces each node to a sample of the others.
// viewSize is lowered to 16 for 60 nodes, as test/core/gossip/large-room.test.ts does, so a run
// takes a second; the VOPR bench runs the default table (320) at 512 nodes.
import { expect } from 'vitest';
import { GenesisAgreement, genesisId, genesisMemoryKey, type GenesisRecord } from '../../../src/core/pbft-room/index.ts';
import { createRng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { simTest } from '../../sim/seed.ts';
import { command, gossipCluster, type GossipCluster } from '../gossip/harness.ts';
import { maxPeersInJoinSample } from '../../../signaling/protocol.ts';

const viewSize = 16;
const nodes = 60;
const stepMs = 250;
const timeoutMs = 120_000;

interface Founded {
  by: NodeId;
  at: number;
  record: GenesisRecord;
}

class Room {
  readonly cluster: GossipCluster;
  readonly agreements = new Map<NodeId, GenesisAgreement>();
  readonly following = new Map<NodeId, GenesisRecord>();
  readonly founded: Founded[] = [];

  constructor(seed: number) {
    this.cluster = gossipCluster({ seed, nodes, introduce: 'sample', introductions: maxPeersInJoinSample, config: { viewSize } });
    const rng = createRng(`pbft-room-large/${seed}`);
    const ids = this.cluster.ids();
    for (const id of ids) {
      const agreement = new GenesisAgreement(id);
      agreement.signaling(true, 0);
      // Every member is a contact here (contactMode 'members'): the node is reachable.
      agreement.links(true, 0);
      for (let i = 0; i < maxPeersInJoinSample; i++) agreement.introduced(rng.pick(ids) as NodeId, 0);
      this.agreements.set(id, agreement);
    }
  }

  /** Runs the room for `ms`, every node looking every 250 ms as the service's housekeeping does. */
  run(ms: number): void {
    const end = this.cluster.now + ms;
    while (this.cluster.now < end) {
      this.cluster.runFor(stepMs);
      for (const id of this.cluster.upIds()) this.look(id);
    }
  }

  private look(id: NodeId): void {
    const now = this.cluster.now;
    const agreement = this.agreements.get(id) as GenesisAgreement;
    const core = this.cluster.node(id).core;
    agreement.sample(core.partialView, now);
    for (const m of core.view().members) if (m.id !== id) agreement.member(m.id, m.status, now);
    const raw = core.get(genesisMemoryKey)?.value as GenesisRecord | undefined;
    const action = agreement.decide(raw ?? null, now);
    if (action.kind === 'found') {
      const record: GenesisRecord = { body: { type: 'pbft-genesis', v: 1, room: 'r', founder: id, foundedAt: now }, sig: 'A'.repeat(86) };
      this.founded.push({ by: id, at: now, record });
      this.take(id, record, now);
    } else if (action.kind === 'adopt') this.take(id, action.record, now);
    else if (action.kind === 'assert' && agreement.assertDue(now)) this.write(id, this.following.get(id) as GenesisRecord);
  }

  private take(id: NodeId, record: GenesisRecord, now: number): void {
    (this.agreements.get(id) as GenesisAgreement).follow(record, now);
    this.following.set(id, record);
    if (record.body.founder === id) this.write(id, record);
  }

  private write(id: NodeId, record: GenesisRecord): void {
    command(this.cluster, id, { type: 'set-memory', key: genesisMemoryKey, value: record });
  }

  /** The distinct geneses the running nodes follow, by id. */
  followed(): Set<string> {
    return new Set([...this.following.values()].map(genesisId));
  }
}

simTest(
  'a room 4× the member table founds one genesis, and every node follows it',
  (seed) => {
    const room = new Room(seed);
    room.run(30_000);
    expect(room.cluster.upIds().every((id) => room.cluster.node(id).core.partialView)).toBe(true);
    expect(room.following.size).toBe(nodes);
    expect(room.followed().size).toBe(1);
    // The smallest ids go first and the rest adopt: only nodes whose sample lacked every smaller
    // live node (about nodes / viewSize of them) may found at the same moment.
    expect(room.founded.length).toBeGreaterThan(0);
    expect(room.founded.length).toBeLessThanOrEqual(Math.ceil(nodes / viewSize) + 1);
  },
  { timeoutMs },
);

simTest(
  'a room split in two before any genesis: the smaller part never founds while the split lasts, one genesis after the heal',
  (seed) => {
    const room = new Room(seed);
    const ids = room.cluster.ids();
    const minority = ids.slice(0, nodes / 3);
    room.cluster.network.partition(minority);
    room.run(30_000);
    const foundedApart = room.founded.filter((f) => minority.includes(f.by));
    expect(foundedApart, 'founded in the minority while cut off').toEqual([]);
    room.cluster.network.heal();
    room.run(40_000);
    expect(room.following.size).toBe(nodes);
    expect(room.followed().size).toBe(1);
  },
  { timeoutMs },
);
