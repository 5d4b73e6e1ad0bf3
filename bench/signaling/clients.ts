// Simulated signaling clients: real `ws` sockets with real Ed25519 joins (the server checks the
// signature over its challenge), each bound to its own source address in 127.0.0.0/8 with ws's
// `localAddress`, so thousands of them look like thousands of users to the per-address caps.
//
// Lean on purpose (a bench drives thousands from one process): frames are told apart by their
// first bytes, and only the join's own frames are parsed. The tests' TestClient
// (test/signaling/helpers.ts) decodes every frame with the protocol's schemas instead.
import { createPrivateKey, createPublicKey, randomBytes, sign } from 'node:crypto';
import { WebSocket } from 'ws';
import { joinFrame, type Identity } from '../../test/signaling/helpers.ts';

/** A join not answered by then counts as failed (and its time as this long). */
export const joinDeadlineMs = 10_000;
/** How long a leave waits for the server's close before cutting the socket. */
const leaveDeadlineMs = 5_000;

/**
 * Source addresses in 127.0.0.0/8, one per call: 127.<first>.<x>.<y>, y in 1–254. Loopback
 * answers the whole /8 on Linux, so nothing leaves the machine.
 */
export class AddressPool {
  private next = 0;

  constructor(private readonly secondOctet: number) {
    if (secondOctet < 1 || secondOctet > 254) throw new RangeError('second octet 1–254');
  }

  take(): string {
    const i = this.next++;
    const third = Math.floor(i / 254);
    if (third > 255) throw new RangeError(`address pool 127.${this.secondOctet}.0.0/16 used up`);
    return `127.${this.secondOctet}.${third}.${(i % 254) + 1}`;
  }
}

/** PKCS#8 DER of an Ed25519 private key, up to its 32-byte seed (RFC 8410). */
const ed25519Pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * An Ed25519 identity made from a random seed. Not test/signaling/helpers.ts newIdentity:
 * thousands of generateKeyPairSync calls with JWK exports deadlocked Node 20.20 here (a GC
 * during ExportJWK ran a KeyGenJob destructor that waits for the lock ExportJWK holds; seen
 * with gdb, the bench hung on a futex). Importing a seed makes no KeyGenJob at all.
 */
export function benchIdentity(): Identity {
  const privateKey = createPrivateKey({ key: Buffer.concat([ed25519Pkcs8Prefix, randomBytes(32)]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const id = spki.subarray(spki.length - 32).toString('base64url');
  return { id, privateKey, sign: (text) => sign(null, Buffer.from(text), privateKey).toString('base64url') };
}

export type JoinOutcome = { ok: true; client: SimClient; ms: number } | { ok: false; ms: number; why: string };

export class SimClient {
  readonly ws: WebSocket;
  identity: Identity | null = null;
  /** Signals relayed to this client. */
  signalsIn = 0;
  /** Error frames received, by code. */
  readonly errors = new Map<string, number>();
  /** Called on every relayed signal (the pair loops answer from here). */
  onSignal: (() => void) | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;
  private challenge: string | null = null;
  private pendingJoin: { room: string; resolve: (outcome: string | null) => void } | null = null;

  constructor(
    url: string,
    readonly localAddress: string,
  ) {
    this.ws = new WebSocket(url, { localAddress, perMessageDeflate: false, handshakeTimeout: joinDeadlineMs });
    this.ws.on('error', () => {}); // a refused or cut socket shows up as its close
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = String(data);
      if (text.startsWith('{"type":"signal"')) {
        this.signalsIn++;
        this.onSignal?.();
        return;
      }
      if (text.startsWith('{"type":"peers"')) return; // announcements: not needed here
      this.onControlFrame(text);
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        this.pendingJoin?.resolve(`closed ${code} ${reason.toString()}`.trim());
        this.pendingJoin = null;
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  get id(): string {
    if (!this.identity) throw new Error('not joined');
    return this.identity.id;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Resolves once the server's welcome (with its challenge) has arrived, or null on close. */
  welcomed(): Promise<boolean> {
    if (this.challenge !== null) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.challenge !== null) return resolve(true);
        if (this.ws.readyState >= WebSocket.CLOSING) return resolve(false);
        this.ws.once('message', check);
      };
      this.ws.once('close', () => resolve(false));
      check();
    });
  }

  /** Signs and sends a join; null when the server answered `joined`, else why not. */
  join(room: string, identity: Identity = benchIdentity()): Promise<string | null> {
    this.identity = identity;
    return new Promise((resolve) => {
      this.pendingJoin = { room, resolve };
      if (this.challenge !== null) this.send(joinFrame(this.challenge, room, identity));
    });
  }

  send(frame: unknown): boolean {
    if (!this.open) return false;
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    return true;
  }

  signal(to: string, data: Record<string, unknown>): boolean {
    return this.send({ type: 'signal', to, data });
  }

  /** Sends `leave` and waits (with a deadline) for the server to close the socket. */
  async leave(): Promise<void> {
    if (this.send({ type: 'leave' })) {
      const timer = setTimeout(() => this.ws.terminate(), leaveDeadlineMs);
      await this.closed;
      clearTimeout(timer);
    } else this.ws.terminate();
  }

  terminate(): void {
    this.ws.terminate();
  }

  private onControlFrame(text: string): void {
    let frame: { type?: unknown; challenge?: unknown; code?: unknown };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      return;
    }
    if (frame.type === 'welcome' && typeof frame.challenge === 'string') {
      this.challenge = frame.challenge;
      if (this.pendingJoin && this.identity) this.send(joinFrame(frame.challenge, this.pendingJoin.room, this.identity));
    } else if (frame.type === 'joined') {
      this.pendingJoin?.resolve(null);
      this.pendingJoin = null;
    } else if (frame.type === 'error') {
      const code = String(frame.code);
      this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
      this.pendingJoin?.resolve(`error ${code}`);
      this.pendingJoin = null;
    }
  }
}

/**
 * Connects from `localAddress` and joins `room`, timing it from the TCP connect to the
 * `joined` frame (what a person waits for). A failure closes the socket.
 */
export async function connectAndJoin(url: string, room: string, localAddress: string, identity?: Identity): Promise<JoinOutcome> {
  const started = performance.now();
  const client = new SimClient(url, localAddress);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), joinDeadlineMs);
  });
  const why = await Promise.race([client.join(room, identity), deadline]);
  clearTimeout(timer);
  const ms = performance.now() - started;
  if (why === null) return { ok: true, client, ms };
  client.terminate();
  return { ok: false, ms: why === 'timeout' ? joinDeadlineMs : ms, why };
}

/** A relayed `data` about the size of a signed ICE candidate (a few hundred bytes, a few keys). */
export function candidateLikeData(seq: number): Record<string, unknown> {
  return {
    kind: 'candidate',
    seq,
    candidate: 'candidate:842163049 1 udp 1677729535 127.0.0.1 54400 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sXbn network-cost 999',
    sdpMid: '0',
    sig: 'x'.repeat(86),
  };
}
