// The real tabmesh-node CLI, without a browser: Node peers meet through a real signaling
// server, link over WebRTC, gossip, leave gracefully on SIGTERM, come back with the same
// identity, and ride out an unreachable server. (test/e2e/node-peer.test.ts adds the tabs.)
import { existsSync } from 'node:fs';
import { freeTcpPort } from '../support/free-port.ts';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { lockFileName } from '../../src/node/data-dir.ts';
import { NodePeerProcess, signalingForPeers } from './cli-process.ts';

const room = 'node-peers';

describe('two Node peers and a signaling server', () => {
  const { peers, url } = signalingForPeers();

  test('they link, gossip, and one that is stopped leaves gracefully, then returns as itself', async () => {
    const a = NodePeerProcess.start(room, url());
    const b = NodePeerProcess.start(room, url());
    peers.push(a, b);
    await a.waitFor((s) => s.id !== null && s.signaling === 'joined', 'A joined');
    await b.waitFor((s) => s.id !== null && s.signaling === 'joined', 'B joined');
    expect(a.events.find((e) => e.event === 'ready')?.['identity']).toBe('created');
    await a.waitFor((s) => s.links.has(b.id) && s.members.get(b.id) === 'alive', 'A linked to B, B alive');
    await b.waitFor((s) => s.links.has(a.id) && s.members.get(a.id) === 'alive', 'B linked to A, A alive');
    const linkUp = a.events.find((e) => e.event === 'link-up' && e['peer'] === b.id)!;
    expect(typeof linkUp['rttMs'] === 'number' || linkUp['rttMs'] === null).toBe(true);
    expect(a.badLines).toEqual([]);

    b.signal('SIGTERM');
    expect((await b.exited).code).toBe(0);
    expect(b.events.map((e) => e.event)).toContain('leaving');
    expect(b.events.at(-1)).toMatchObject({ event: 'stopped', reason: 'SIGTERM', exitCode: 0 });
    expect(existsSync(join(b.dataDir, lockFileName))).toBe(false);
    // A graceful leave is a 'left', not a death found by probing.
    await a.waitFor((s) => !s.links.has(b.id) && s.members.get(b.id) === 'left', 'A sees B left and unlinked', 10_000);
    expect(a.events.some((e) => e.event === 'member' && e['peer'] === b.id && e['status'] === 'dead')).toBe(false);

    const again = NodePeerProcess.start(room, url(), { dataDir: b.dataDir });
    peers.push(again);
    await again.waitFor((s) => s.id !== null, 'B again says its id');
    expect(again.id).toBe(b.id);
    expect(again.events.find((e) => e.event === 'ready')?.['identity']).toBe('loaded');
    await a.waitFor((s) => s.links.has(b.id) && s.members.get(b.id) === 'alive', 'A sees B back');
  }, 60_000);

  test('a second process on the same data directory is refused, and exits 1', async () => {
    const first = NodePeerProcess.start(room, url());
    peers.push(first);
    await first.waitFor((s) => s.id !== null, 'first started');
    const second = new NodePeerProcess(['--room', room, '--signal', url(), '--data', first.dataDir, '--json'], first.dataDir);
    expect((await second.exited).code).toBe(1);
    expect(second.events.find((e) => e.event === 'error')?.['message']).toMatch(new RegExp(`another tabmesh-node \\(pid ${first.child.pid}\\) is using`));
    first.signal('SIGINT');
    expect((await first.exited).code).toBe(0);
  }, 30_000);
});

test('an unreachable signaling server is retried with backoff and reported, never a crash', async () => {
  const port = await freeTcpPort();
  const peer = NodePeerProcess.start(room, `http://127.0.0.1:${port}`);
  try {
    await peer.waitFor(
      (_s, events) => events.filter((e) => e.event === 'signaling' && e['status'] === 'disconnected').length >= 3,
      'three failed attempts reported',
    );
    const delays = peer.events
      .filter((e) => e.event === 'signaling' && e['status'] === 'disconnected')
      .map((e) => Number(/retrying in ([\d.]+) s/.exec(String(e['detail']))?.[1]));
    expect(delays.every((d) => d > 0)).toBe(true);
    // Backoff: each wait is longer than the one before (doubling, ±25 % jitter).
    expect(delays[2]!).toBeGreaterThan(delays[0]!);
    expect(peer.events.some((e) => e.event === 'note' && /cannot be reached/.test(String(e['message'])))).toBe(true);
    expect(peer.child.exitCode).toBeNull();
    peer.signal('SIGTERM');
    expect((await peer.exited).code).toBe(0);
  } finally {
    await peer.dispose();
  }
}, 30_000);
