// NativePeer's signal handling: candidates that come before the description wait for it, bad
// signals are refused with ERR_SIGNALING, the signal shapes are simple-peer's (so a peer of the
// previous version links), and two NativePeers on node-datachannel's polyfill link even when
// every candidate is delivered before the description it belongs to.
import { RTCPeerConnection as PolyfillPeerConnection } from 'node-datachannel/polyfill';
import { describe, expect, test } from 'vitest';
import { NativePeer } from '../../src/net/native-peer.ts';
import { decodeSignedSignal } from '../../src/net/signed-signal.ts';

/** Records what NativePeer asks of the connection; resolves every step at once. */
class RecordingConnection {
  static last: RecordingConnection;
  readonly calls: string[] = [];
  onicecandidate: ((event: { candidate: unknown }) => void) | null = null;
  oniceconnectionstatechange: (() => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  ondatachannel: ((event: { channel: unknown }) => void) | null = null;
  iceConnectionState = 'new';
  localDescription: { type: string; sdp: string } | null = null;
  constructor() {
    RecordingConnection.last = this;
  }
  createDataChannel(): object {
    return { readyState: 'connecting', bufferedAmount: 0, close: () => {} };
  }
  async createOffer() {
    return { type: 'offer', sdp: 'v=0 offer' };
  }
  async createAnswer() {
    return { type: 'answer', sdp: 'v=0 answer' };
  }
  async setLocalDescription(description: { type: string; sdp: string }) {
    this.calls.push(`local ${description.type}`);
    this.localDescription = description;
  }
  async setRemoteDescription(description: { type: string }) {
    this.calls.push(`remote ${description.type}`);
  }
  async addIceCandidate(candidate: { candidate: string }) {
    this.calls.push(`candidate ${candidate.candidate}`);
  }
  close() {
    this.calls.push('close');
  }
}

const Recording = RecordingConnection as unknown as typeof RTCPeerConnection;

async function until(predicate: () => boolean, what: string, detail?: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail ? ` (${detail()})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('NativePeer signal handling', () => {
  test('candidates that arrive before the offer are applied after it, in order', async () => {
    const peer = new NativePeer(Recording, { initiator: false, config: {} });
    const pc = RecordingConnection.last;
    const signals: unknown[] = [];
    peer.on('signal', (signal) => signals.push(signal));
    peer.signal({ type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
    peer.signal({ type: 'candidate', candidate: { candidate: 'candidate:2 1 udp 1 192.0.2.2 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
    expect(pc.calls).toEqual([]);
    peer.signal({ type: 'offer', sdp: 'v=0 offer' });
    await until(() => signals.length > 0, 'the answer');
    expect(pc.calls).toEqual([
      'remote offer',
      'candidate candidate:1 1 udp 1 192.0.2.1 5000 typ host',
      'candidate candidate:2 1 udp 1 192.0.2.2 5000 typ host',
      'local answer',
    ]);
    expect(signals).toEqual([{ type: 'answer', sdp: 'v=0 answer' }]);
    // A candidate after the description goes straight in.
    peer.signal({ type: 'candidate', candidate: { candidate: 'candidate:3 1 udp 1 192.0.2.3 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
    await until(() => pc.calls.length === 5, 'the late candidate');
    expect(pc.calls[4]).toBe('candidate candidate:3 1 udp 1 192.0.2.3 5000 typ host');
    // simple-peer's renegotiate (media only) is accepted and does nothing.
    expect(() => peer.signal({ type: 'renegotiate', renegotiate: true })).not.toThrow();
    peer.destroy();
  });

  test('candidates gathered before the offer leaves travel inside it; active TCP ones never leave; later ones trickle', async () => {
    const host = (n: number, extra = '') => ({
      candidate: { candidate: `candidate:${n} 1 udp 1 192.0.2.${n} 5000 typ host${extra}`, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null },
    });
    // The connection writes the first candidate into its description, as a browser does with
    // what it has gathered; the second it reports without writing it in.
    class GatheringConnection extends RecordingConnection {
      override async setLocalDescription(description: { type: string; sdp: string }) {
        await super.setLocalDescription({ ...description, sdp: `${description.sdp}\r\na=candidate:1 1 udp 1 192.0.2.1 5000 typ host generation 0` });
        this.onicecandidate?.(host(1, ' generation 0 ufrag abcd'));
        this.onicecandidate?.(host(2));
        this.onicecandidate?.({ candidate: { candidate: 'candidate:9 1 tcp 1 192.0.2.9 9 typ host tcptype active', sdpMid: '0', sdpMLineIndex: 0 } });
      }
    }
    const peer = new NativePeer(GatheringConnection as unknown as typeof RTCPeerConnection, { initiator: true, config: {} });
    const pc = RecordingConnection.last;
    const signals: Array<{ type: string; sdp?: string; candidate?: { candidate: string } }> = [];
    peer.on('signal', (signal) => signals.push(signal as (typeof signals)[number]));
    await until(() => signals.length >= 2, 'the offer and the candidate it lacks');
    expect(signals.map((s) => s.type)).toEqual(['offer', 'candidate']);
    expect(signals[0]?.sdp).toContain('a=candidate:1 1 udp 1 192.0.2.1 5000 typ host');
    expect(signals[1]?.candidate?.candidate).toBe('candidate:2 1 udp 1 192.0.2.2 5000 typ host');
    pc.onicecandidate?.(host(3));
    pc.onicecandidate?.({ candidate: { candidate: 'candidate:8 1 tcp 1 192.0.2.8 9 typ host tcptype active', sdpMid: '0', sdpMLineIndex: 0 } });
    expect(signals.map((s) => s.candidate?.candidate ?? s.type)).toEqual([
      'offer',
      'candidate:2 1 udp 1 192.0.2.2 5000 typ host',
      'candidate:3 1 udp 1 192.0.2.3 5000 typ host',
    ]);
    peer.destroy();
  });

  test.each([
    ['null', null],
    ['a number', 42],
    ['an unknown type', { type: 'pranswer', sdp: 'v=0' }],
    ['an offer without SDP', { type: 'offer' }],
    ['a candidate without its line', { type: 'candidate', candidate: { sdpMid: '0' } }],
    ['an answer to the side that did not offer', { type: 'answer', sdp: 'v=0' }],
  ])('refuses %s with ERR_SIGNALING and applies nothing', (_what, signal) => {
    const peer = new NativePeer(Recording, { initiator: false, config: {} });
    const pc = RecordingConnection.last;
    let thrown: unknown;
    try {
      peer.signal(signal);
    } catch (error) {
      thrown = error;
    }
    expect((thrown as { code?: string }).code).toBe('ERR_SIGNALING');
    expect(pc.calls).toEqual([]);
    peer.destroy();
  });

  test('text that is not JSON is refused; a destroyed peer refuses signals; close comes once, after destroy returns', async () => {
    const peer = new NativePeer(Recording, { initiator: true, config: {} });
    expect(() => peer.signal('{not json')).toThrow();
    let closes = 0;
    peer.on('close', () => closes++);
    peer.destroy();
    peer.destroy();
    expect(closes).toBe(0);
    await until(() => closes === 1, 'close');
    expect(peer.destroyed).toBe(true);
    expect(() => peer.signal({ type: 'answer', sdp: 'v=0' })).toThrow(expect.objectContaining({ code: 'ERR_DESTROYED' }));
  });
});

describe('NativePeer on node-datachannel', () => {
  test('links with every candidate delivered before its description; its signals pass the previous version’s signal check', async () => {
    const a = new NativePeer(PolyfillPeerConnection as unknown as typeof RTCPeerConnection, { initiator: true, config: { iceServers: [] } });
    const b = new NativePeer(PolyfillPeerConnection as unknown as typeof RTCPeerConnection, { initiator: false, config: { iceServers: [] } });
    const fromA: Array<Record<string, unknown>> = [];
    const fromB: Array<Record<string, unknown>> = [];
    a.on('signal', (s) => fromA.push(s as Record<string, unknown>));
    b.on('signal', (s) => fromB.push(s as Record<string, unknown>));
    const received: string[] = [];
    b.on('data', (bytes) => received.push(new TextDecoder().decode(bytes)));
    // If the link fails rather than comes up, say how (this test once timed out in a full,
    // loaded unit run and passed alone: the states tell a failed ICE check from a slow one).
    const failures: string[] = [];
    a.on('error', (error) => failures.push(`A: ${String(error)}`));
    b.on('error', (error) => failures.push(`B: ${String(error)}`));
    const states = (): string =>
      `A ${a.connection.iceConnectionState}/${a.connection.connectionState}, B ${b.connection.iceConnectionState}/${b.connection.connectionState}` +
      `${failures.length > 0 ? `; ${failures.join('; ')}` : ''}; signals A ${fromA.map((s) => s['type']).join(',')}, B ${fromB.map((s) => s['type']).join(',')}`;
    try {
      // Hold A's signals until its offer and at least one candidate exist, then hand B the
      // candidates first and the offer last.
      await until(() => fromA.some((s) => s['type'] === 'offer') && fromA.some((s) => s['type'] === 'candidate'), "A's offer and a candidate");
      for (const signal of fromA.filter((s) => s['type'] === 'candidate')) b.signal(signal);
      b.signal(fromA.find((s) => s['type'] === 'offer'));
      let sentFromA = fromA.length;
      let sentFromB = 0;
      // Same for B's answer: its candidates go to A first.
      await until(() => fromB.some((s) => s['type'] === 'answer') && fromB.some((s) => s['type'] === 'candidate'), "B's answer and a candidate");
      for (const signal of fromB.filter((s) => s['type'] === 'candidate')) a.signal(signal);
      a.signal(fromB.find((s) => s['type'] === 'answer'));
      sentFromB = fromB.length;
      // Later trickled candidates go across as they come.
      await until(
        () => {
          for (; sentFromA < fromA.length; sentFromA++) if (fromA[sentFromA]!['type'] === 'candidate') b.signal(fromA[sentFromA]);
          for (; sentFromB < fromB.length; sentFromB++) if (fromB[sentFromB]!['type'] === 'candidate') a.signal(fromB[sentFromB]);
          if (failures.length > 0) throw new Error(`link failed: ${states()}`);
          return a.connected && b.connected;
        },
        'both sides connected',
        () => states(),
      );
      a.send(new TextEncoder().encode('hello'));
      await until(() => received.includes('hello'), 'B receives');
      // Every signal has the shape simple-peer used, which the previous version's check accepts.
      const from = 'a'.repeat(42) + 'A';
      const to = 'b'.repeat(42) + 'A';
      for (const signal of [...fromA, ...fromB]) {
        const check = decodeSignedSignal({ body: { v: 1, from, to, session: 'session-0001', kind: 'signal', signal }, sig: 'A'.repeat(86) }, to as never);
        expect(check.ok ? 'ok' : check.reason).toBe('ok');
      }
    } finally {
      a.destroy();
      b.destroy();
    }
  }, 30_000);
});
