// The Node link host over real WebRTC (NativePeer on node-datachannel's polyfill), two
// hosts in one process, signals handed across directly as the runtimes would via the server.
import { describe, expect, test } from 'vitest';
import type { NodeId } from '../../src/core/types.ts';
import { defaultPeerFactory, NodeLinkHost } from '../../src/node/link-host.ts';
import type { LinkHostEvents, RawSignal } from '../../src/net/transport.ts';

const idA = 'a'.repeat(42) + 'A';
const idB = 'b'.repeat(42) + 'A';

class Recorder implements LinkHostEvents {
  readonly log: string[] = [];
  readonly received: string[] = [];
  private waiters: Array<() => void> = [];
  constructor(private readonly forward: (peer: NodeId, linkId: string, signal: RawSignal) => void) {}
  up(peer: NodeId, linkId: string): void {
    this.note(`up ${peer.slice(0, 1)} ${linkId}`);
  }
  down(peer: NodeId, linkId: string, reason: string): void {
    this.note(`down ${peer.slice(0, 1)} ${linkId} ${reason}`);
  }
  signal(peer: NodeId, linkId: string, signal: RawSignal): void {
    this.forward(peer, linkId, signal);
  }
  data(_peer: NodeId, _linkId: string, bytes: Uint8Array): void {
    this.received.push(new TextDecoder().decode(bytes));
    this.note('data');
  }
  async until(predicate: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events: ${this.log.join(' | ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  private note(line: string): void {
    this.log.push(line);
    for (const w of this.waiters.splice(0)) w();
  }
}

const bytes = (text: string) => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;

describe('NodeLinkHost', () => {
  test('two hosts link over node-datachannel, carry bytes both ways, and a close lets queued bytes go first', async () => {
    const hostA = new NodeLinkHost();
    const hostB = new NodeLinkHost();
    // Signals go straight across (in the real node they are signed and go through the server).
    const eventsA = new Recorder((_peer, id, signal) => hostB.signal(idA as NodeId, id, signal));
    const eventsB = new Recorder((_peer, id, signal) => hostA.signal(idB as NodeId, id, signal));
    // On a heavily loaded machine a negotiation now and then fails (ERR_SET_REMOTE_DESCRIPTION);
    // the runtime answers that with a fresh attempt, and so does this test, up to three times.
    let linkId = '';
    for (let attempt = 1; ; attempt++) {
      linkId = `link-000${attempt}`;
      hostA.open(idB as NodeId, linkId, true, []);
      hostB.open(idA as NodeId, linkId, false, []);
      // Events that happen before the runtime attaches are kept for it.
      if (attempt === 1) {
        hostA.attach(eventsA);
        hostB.attach(eventsB);
      }
      try {
        await eventsA.until(() => eventsA.log.includes(`up b ${linkId}`), 'A sees the link up');
        await eventsB.until(() => eventsB.log.includes(`up a ${linkId}`), 'B sees the link up');
        break;
      } catch (error) {
        if (attempt >= 3) throw error;
        hostA.close(idB as NodeId, linkId);
        hostB.close(idA as NodeId, linkId);
      }
    }

    hostA.send(idB as NodeId, linkId, bytes('ping'));
    hostB.send(idA as NodeId, linkId, bytes('pong'));
    await eventsB.until(() => eventsB.received.includes('ping'), 'B got ping');
    await eventsA.until(() => eventsA.received.includes('pong'), 'A got pong');

    // Sends for another link attempt, or to nobody, go nowhere and break nothing.
    hostA.send(idB as NodeId, 'other-link', bytes('stray'));
    hostA.signal(idB as NodeId, 'other-link', { type: 'answer', sdp: 'x' });

    // Last words, then close at once: they still arrive, then B sees the channel close.
    const last = Array.from({ length: 50 }, (_, i) => `bye ${i} ${'x'.repeat(2000)}`);
    for (const text of last) hostA.send(idB as NodeId, linkId, bytes(text));
    hostA.close(idB as NodeId, linkId);
    expect(hostA.size).toBe(0);
    await hostA.settled();
    await eventsB.until(() => eventsB.log.some((l) => l.startsWith(`down a ${linkId}`)), 'B sees the link down');
    expect(eventsB.received.filter((t) => t.startsWith('bye '))).toEqual(last);
    // The closing side does not report its own close as a drop (the runtime asked for it).
    expect(eventsA.log.filter((l) => l.startsWith('down') && l.includes(linkId))).toEqual([]);
    expect(hostA.droppedBeforeAttach).toBe(0);
    hostB.destroyAll();
  }, 30_000);

  test('a peer that cannot be created fails its link instead of throwing', () => {
    const host = new NodeLinkHost(() => {
      throw new Error('no WebRTC here');
    });
    const downs: string[] = [];
    host.attach({ up: () => {}, signal: () => {}, data: () => {}, down: (_p, _l, reason) => downs.push(reason) });
    host.open(idB as NodeId, 'link-0002', true, []);
    expect(downs).toEqual(['cannot open a connection: Error: no WebRTC here']);
    expect(host.size).toBe(0);
  });
});

describe('ICE transport policy in node-datachannel', () => {
  /**
   * The candidates a new initiating connection offers, read from its local description once that
   * says gathering is over (libdatachannel writes a=end-of-candidates then; the polyfill's
   * iceGatheringState says 'complete' from the start, so it cannot be the signal).
   */
  async function gatheredCandidates(iceTransportPolicy: 'all' | 'relay'): Promise<string[]> {
    const peer = defaultPeerFactory({ initiator: true, iceServers: [], iceTransportPolicy });
    const pc = (peer as unknown as { connection: RTCPeerConnection }).connection;
    const deadline = Date.now() + 15_000;
    try {
      while (!pc.localDescription?.sdp.includes('a=end-of-candidates')) {
        if (Date.now() > deadline) throw new Error(`gathering did not end: ${JSON.stringify(pc.localDescription?.sdp ?? null)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return pc.localDescription.sdp.split(/\r?\n/).filter((line) => line.startsWith('a=candidate:'));
    } finally {
      peer.destroy();
    }
  }

  test("'relay' offers no address of this machine (no TURN server given: no candidate at all); 'all' offers host candidates", async () => {
    expect((await gatheredCandidates('all')).some((c) => / typ host/.test(c))).toBe(true);
    expect(await gatheredCandidates('relay')).toEqual([]);
  }, 30_000);

  test('the host reads the policy at each new connection, so a later answer of the server counts', () => {
    let policy: 'all' | 'relay' = 'all';
    const asked: string[] = [];
    const host = new NodeLinkHost(
      ({ iceTransportPolicy }) => {
        asked.push(iceTransportPolicy);
        throw new Error('not connecting in this test');
      },
      () => policy,
    );
    host.attach({ up: () => {}, signal: () => {}, data: () => {}, down: () => {} });
    host.open(idB as NodeId, 'link-0003', true, []);
    policy = 'relay';
    host.open(idB as NodeId, 'link-0004', true, []);
    expect(asked).toEqual(['all', 'relay']);
  });
});

describe('TURN credentials for node-datachannel', () => {
  test("a TURN REST user name ('expiry:id') and a password with URL characters arrive whole: percent-encoded, for the polyfill's URL", async () => {
    const { encodedCredentials } = await import('../../src/node/link-host.ts');
    const servers = encodedCredentials([
      { urls: ['turn:198.51.100.10:3478?transport=udp', 'turns:turn.example.org:5349'], username: '1796569687:node-a', credential: 'p@ss/w:rd+=' },
      { urls: 'stun:198.51.100.10:3478' },
    ]);
    expect(servers).toEqual([
      { urls: ['turn:198.51.100.10:3478?transport=udp', 'turns:turn.example.org:5349'], username: '1796569687%3Anode-a', credential: 'p%40ss%2Fw%3Ard%2B%3D' },
      { urls: 'stun:198.51.100.10:3478' },
    ]);
  });
});
