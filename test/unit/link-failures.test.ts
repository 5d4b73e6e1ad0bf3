// Why a link failed and when a node stops trying: the candidate types read from real signal
// shapes (simple-peer's trickled candidates, an SDP), the diagnosis for each NAT situation, and
// the bound on attempts — in the record alone and in the LinkManager with a fake link host.
import { describe, expect, test } from 'vitest';
import type { NodeId } from '../../src/core/types.ts';
import { createIdentity, signText, verifyText } from '../../src/crypto/ed25519.ts';
import {
  candidateTypesIn,
  diagnose,
  hasTurnServer,
  iceServersKey,
  LinkFailures,
  maxFailedLinkAttempts,
  settledRetryMaxMs,
  settledRetryMs,
} from '../../src/worker/link-failures.ts';
import { LinkManager, linkSetupTimeoutMs, linkRetryMaxMs } from '../../src/worker/links.ts';
import type { IceServer } from '../../src/net/transport.ts';
import { signingText } from '../../src/net/signed-signal.ts';

const trickled = (line: string) => ({ type: 'candidate', candidate: { candidate: line, sdpMLineIndex: 0, sdpMid: '0' } });
const hostLine = 'candidate:1 1 udp 2122260223 10.0.1.10 41239 typ host generation 0';
const srflxLine = 'candidate:2 1 udp 1686052607 203.0.113.11 41239 typ srflx raddr 10.0.1.10 rport 41239';
const relayLine = 'candidate:3 1 udp 41885439 198.51.100.10 49794 typ relay raddr 203.0.113.11 rport 5000';

describe('candidate types in signals', () => {
  test('a trickled candidate, a bare candidate string and an SDP with candidate lines', () => {
    expect(candidateTypesIn(trickled(srflxLine))).toEqual(['srflx']);
    expect(candidateTypesIn({ candidate: relayLine })).toEqual(['relay']);
    expect(candidateTypesIn({ type: 'offer', sdp: `v=0\r\na=${hostLine}\r\na=${srflxLine}\r\n` })).toEqual(['host', 'srflx']);
  });

  test('signals without candidates, and garbage, name none', () => {
    expect(candidateTypesIn({ type: 'offer', sdp: 'v=0\r\n' })).toEqual([]);
    expect(candidateTypesIn({ candidate: 42 })).toEqual([]);
    expect(candidateTypesIn({ candidate: { candidate: 'typ bogus' } })).toEqual([]);
    expect(candidateTypesIn({ renegotiate: true })).toEqual([]);
  });
});

describe('diagnosis of a failed attempt', () => {
  test('only host candidates on both sides: no STUN or TURN configured, a TURN server is needed', () => {
    expect(diagnose(['host'], ['host'], false)).toMatchObject({ diagnosis: 'no-ice-servers', needsTurn: true });
  });
  test('server-reflexive candidates tried and failed (a symmetric NAT): needs TURN', () => {
    const verdict = diagnose(['host', 'srflx'], ['host', 'srflx'], false);
    expect(verdict).toMatchObject({ diagnosis: 'needs-turn', needsTurn: true });
    expect(verdict.advice).toMatch(/TURN server is needed/);
  });
  test('a TURN server configured that gave no relay address', () => {
    expect(diagnose(['host', 'srflx'], ['host', 'srflx'], true)).toMatchObject({ diagnosis: 'turn-unavailable', needsTurn: true });
  });
  test('a relay offered and still no path', () => {
    expect(diagnose(['host', 'relay'], ['host', 'srflx'], true)).toMatchObject({ diagnosis: 'relay-failed', needsTurn: false });
  });
  test('nothing from the peer, or nothing at all', () => {
    expect(diagnose(['host'], [], false).diagnosis).toBe('no-candidates');
    expect(diagnose([], [], false).diagnosis).toBe('unknown');
  });
});

describe('LinkFailures', () => {
  test(`retrying until ${maxFailedLinkAttempts} failures in a row, then unreachable until forgiven or the ICE servers change`, () => {
    const failures = new LinkFailures();
    const key = iceServersKey([{ urls: 'stun:198.51.100.10:3478' }]);
    for (let i = 1; i <= maxFailedLinkAttempts; i++) {
      failures.started('p', `l${i}`);
      failures.signal('p', `l${i}`, 'local', trickled(srflxLine));
      failures.signal('p', `l${i}`, 'remote', trickled(hostLine));
      failures.signal('p', 'another attempt', 'remote', trickled(relayLine));
      const view = failures.failed('p', 'setup timed out', 1000 * i, key, false);
      expect(view).toMatchObject({
        attempts: i,
        local: ['srflx'],
        remote: ['host'],
        diagnosis: 'needs-turn',
        state: i < maxFailedLinkAttempts ? 'retrying' : 'unreachable',
      });
      expect(failures.unreachable('p', key, 1000 * i)).toBe(i === maxFailedLinkAttempts);
    }
    expect(failures.unreachable('p', iceServersKey([{ urls: ['turn:198.51.100.10:3478'] }, { urls: 'stun:198.51.100.10:3478' }]), 4000)).toBe(false);
    expect(failures.list()).toEqual([]);
  });

  test('a settled peer gets another attempt after the retry period, doubling per new failure; its own request is taken after half', () => {
    const failures = new LinkFailures();
    let at = 0;
    for (let i = 0; i < maxFailedLinkAttempts; i++) failures.failed('p', 'no answer to the link request', (at += 20_000), '', false);
    const settled = at;
    expect(failures.unreachable('p', '', settled + settledRetryMs / 2 - 1)).toBe(true);
    expect(failures.unreachable('p', '', settled + settledRetryMs / 2 - 1, true)).toBe(true);
    expect(failures.unreachable('p', '', settled + settledRetryMs / 2, true)).toBe(false);
    expect(failures.unreachable('p', '', settled + settledRetryMs - 1)).toBe(true);
    expect(failures.unreachable('p', '', settled + settledRetryMs)).toBe(false);
    // That attempt fails too: twice as long now, and never longer than the cap.
    const again = settled + settledRetryMs + 20_000;
    expect(failures.failed('p', 'setup timed out', again, '', false)).toMatchObject({ state: 'unreachable', attempts: maxFailedLinkAttempts + 1 });
    expect(failures.unreachable('p', '', again + settledRetryMs)).toBe(true);
    expect(failures.unreachable('p', '', again + 2 * settledRetryMs)).toBe(false);
    for (let i = 0; i < 20; i++) failures.failed('p', 'setup timed out', again, '', false);
    expect(failures.unreachable('p', '', again + settledRetryMaxMs - 1)).toBe(true);
    expect(failures.unreachable('p', '', again + settledRetryMaxMs)).toBe(false);
  });

  test('a link that comes up clears the record; forgive clears it too', () => {
    const failures = new LinkFailures();
    failures.started('p', 'l1');
    failures.failed('p', 'x', 1, '', false);
    failures.succeeded('p');
    expect(failures.list()).toEqual([]);
    failures.started('q', 'l2');
    failures.failed('q', 'x', 1, '', false);
    failures.forgive('q');
    expect(failures.list()).toEqual([]);
  });

  test('ICE server keys ignore credentials and order; TURN is recognised', () => {
    const before: IceServer[] = [{ urls: 'turn:t:3478', username: 'a', credential: 'old' }, { urls: 'stun:s' }];
    const renewed: IceServer[] = [{ urls: 'stun:s' }, { urls: ['turn:t:3478'], username: 'b', credential: 'new' }];
    expect(iceServersKey(before)).toBe(iceServersKey(renewed));
    expect(hasTurnServer([{ urls: 'stun:s' }])).toBe(false);
    expect(hasTurnServer([{ urls: ['stun:s', 'turns:t:5349'] }])).toBe(true);
  });
});

describe('LinkManager stops trying a peer it cannot reach', () => {
  async function node(iceServers: IceServer[]) {
    const [self, other] = await Promise.all([createIdentity(), createIdentity()]);
    const [small, large] = self.id < other.id ? [self, other] : [other, self];
    const clock = { now: 0 };
    const opens: string[] = [];
    const rejected: string[] = [];
    let counter = 0;
    const manager = new LinkManager({
      self: small.id,
      host: { open: (_peer, linkId) => opens.push(linkId), signal: () => {}, send: () => {}, close: () => {} },
      iceServers: () => iceServers,
      now: () => clock.now,
      wallClock: () => clock.now,
      randomId: () => `link-${++counter}`,
      sign: (text) => signText(small, text),
      verify: verifyText,
      deliverSignal: () => true,
      onUp: () => {},
      onDown: () => {},
      onData: () => {},
      reject: (reason) => rejected.push(reason),
      retryLostLinks: () => true,
    });
    return { manager, clock, opens, rejected, peer: large.id as NodeId, large, small };
  }

  test(`after ${maxFailedLinkAttempts} timed-out attempts the peer is unreachable and no connection is opened again`, async () => {
    const { manager, clock, opens, peer } = await node([{ urls: 'stun:198.51.100.10:3478' }]);
    manager.want(peer);
    const runUntil = async (ms: number) => {
      for (let step = 0; step < 500 && clock.now < ms; step++) {
        const linkId = opens.at(-1);
        if (linkId && manager.get(peer)?.state === 'connecting') await manager.hostSignal(peer, linkId, trickled(srflxLine));
        clock.now += linkSetupTimeoutMs / 2 + 1;
        manager.tick();
      }
    };
    // Far more time than the attempts and their backoff take: the count stays bounded.
    await runUntil(settledRetryMs);
    expect(opens).toHaveLength(maxFailedLinkAttempts);
    expect(manager.failureList()).toEqual([
      expect.objectContaining({ peer, attempts: maxFailedLinkAttempts, state: 'unreachable', reason: 'setup timed out', local: ['srflx'] }),
    ]);
    expect(manager.get(peer)).toBeUndefined();
    expect(clock.now).toBeGreaterThan(maxFailedLinkAttempts * (linkSetupTimeoutMs + linkRetryMaxMs));

    // Time gives it one more attempt per retry period (which doubles when it fails again).
    await runUntil(3 * settledRetryMs);
    expect(opens).toHaveLength(maxFailedLinkAttempts + 1);
    expect(manager.get(peer)).toBeUndefined();

    // Introduced again: a fresh start, one more attempt at once.
    manager.forgive(peer);
    manager.tick();
    expect(opens).toHaveLength(maxFailedLinkAttempts + 2);
  });

  test('a peer settled as unreachable gets no answer to its link requests; the asking side counts them and settles too', async () => {
    const { manager, clock, opens, rejected, peer, large, small } = await node([]);
    manager.want(peer);
    for (let step = 0; step < 100 && manager.failureList()[0]?.state !== 'unreachable'; step++) {
      clock.now += linkSetupTimeoutMs + 1;
      manager.tick();
    }
    expect(opens).toHaveLength(maxFailedLinkAttempts);
    const body = { v: 1 as const, from: large.id, to: small.id, session: 'ask-for-a-link-1', kind: 'connect' as const };
    await manager.receiveSignal(peer, { body, sig: await signText(large, signingText(body)) });
    expect(rejected).toEqual([]);
    expect(opens).toHaveLength(maxFailedLinkAttempts);

    // The larger id's side: requests nobody answers count as failed attempts, keeping what the
    // last real attempt found out.
    const asking = new LinkManager({
      self: large.id,
      host: { open: () => {}, signal: () => {}, send: () => {}, close: () => {} },
      iceServers: () => [],
      now: () => clock.now,
      randomId: () => `ask-${clock.now}-0123456789`,
      sign: (text) => signText(large, text),
      verify: verifyText,
      deliverSignal: () => true,
      onUp: () => {},
      onDown: () => {},
      onData: () => {},
      reject: () => {},
      retryLostLinks: () => true,
    });
    asking.want(small.id);
    for (let step = 0; step < 100 && asking.failureList()[0]?.state !== 'unreachable'; step++) {
      clock.now += linkSetupTimeoutMs / 2 + 1;
      asking.tick();
    }
    expect(asking.failureList()).toEqual([
      expect.objectContaining({ attempts: maxFailedLinkAttempts, state: 'unreachable', reason: 'no answer to the link request' }),
    ]);
    expect(asking.get(small.id)).toBeUndefined();
  });
});

describe('LinkManager, the answering side', () => {
  test('offers from a peer settled as unreachable open no connection', async () => {
    const [one, two] = await Promise.all([createIdentity(), createIdentity()]);
    const [small, large] = one.id < two.id ? [one, two] : [two, one];
    const clock = { now: 0 };
    const opens: string[] = [];
    let counter = 0;
    const answering = new LinkManager({
      self: large.id,
      host: { open: (_peer, linkId) => opens.push(linkId), signal: () => {}, send: () => {}, close: () => {} },
      iceServers: () => [],
      now: () => clock.now,
      randomId: () => `req-${++counter}-0123456789`,
      sign: (text) => signText(large, text),
      verify: verifyText,
      deliverSignal: () => true,
      onUp: () => {},
      onDown: () => {},
      onData: () => {},
      reject: () => {},
      retryLostLinks: () => true,
    });
    const offer = async (n: number) => {
      const body = {
        v: 1 as const,
        from: small.id,
        to: large.id,
        session: `offer-session-${n}`,
        kind: 'signal' as const,
        signal: { type: 'offer' as const, sdp: `v=0 ${hostLine}` },
      };
      await answering.receiveSignal(small.id, { body, sig: await signText(small, signingText(body)) });
    };
    for (let n = 1; n <= maxFailedLinkAttempts; n++) {
      await offer(n);
      expect(opens).toHaveLength(n);
      clock.now += linkSetupTimeoutMs + 1;
      answering.tick();
    }
    expect(answering.failureList()).toEqual([expect.objectContaining({ peer: small.id, state: 'unreachable', remote: ['host'] })]);
    await offer(maxFailedLinkAttempts + 1);
    expect(opens).toHaveLength(maxFailedLinkAttempts);
    // Introduced again: its next offer is answered.
    answering.forgive(small.id as NodeId);
    await offer(maxFailedLinkAttempts + 2);
    expect(opens).toHaveLength(maxFailedLinkAttempts + 1);
  });
});
