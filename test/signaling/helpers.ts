// Real WebSocket clients and real Ed25519 keys against a real server on 127.0.0.1:0.
// Tests wait on conditions (the next frame, a close, a pong), never on fixed sleeps; every wait
// has a deadline so a missing frame fails with a message instead of hanging.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterEach } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { decodeServerMessage, joinSigningText, signalingPath, type ServerMessage } from '../../signaling/protocol.ts';
import { createTabmeshServer, type TabmeshServer, type TabmeshServerOptions } from '../../signaling/server.ts';

/** How long a test waits for a frame or a close before failing (not a sleep: a deadline). */
export const waitDeadlineMs = 4_000;

export interface Identity {
  id: string;
  privateKey: KeyObject;
  sign(text: string): string;
}

export function newIdentity(): Identity {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const id = publicKey.export({ format: 'jwk' }).x as string;
  return { id, privateKey, sign: (text) => sign(null, Buffer.from(text), privateKey).toString('base64url') };
}

export interface Running {
  server: TabmeshServer;
  /** ws://127.0.0.1:PORT/signal */
  wsUrl: string;
  /** http://127.0.0.1:PORT */
  httpUrl: string;
}

export async function startServer(options: TabmeshServerOptions = {}): Promise<Running> {
  const server = createTabmeshServer({ port: 0, host: '127.0.0.1', seed: 1, ...options });
  const { port } = await server.listen();
  return { server, wsUrl: `ws://127.0.0.1:${port}${signalingPath}`, httpUrl: `http://127.0.0.1:${port}` };
}

/**
 * For a file whose tests each start a server and clients: `start` starts the server (as
 * startServer), and the test pushes its clients to `clients`; after each test the clients are
 * cut off and the last server started is closed.
 */
export function serverPerTest(): { readonly clients: TestClient[]; start(options?: TabmeshServerOptions): Promise<Running> } {
  let running: Running | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await running?.server.close();
    running = undefined;
  });
  return { clients, start: async (options) => (running = await startServer(options)) };
}

type Waiter = { resolve: (frame: ServerMessage) => void; reject: (err: Error) => void };
type PeersFrame = Extract<ServerMessage, { type: 'peers' }>;

export class TestClient {
  readonly ws: WebSocket;
  private readonly queue: ServerMessage[] = [];
  private readonly waiters: Waiter[] = [];
  /**
   * Announcements (`peers` frames) arrive batched, up to a window after the change, so they
   * are kept apart from the other frames: `next()` and `drain()` never see them, and a test
   * that is about them reads them with `announced()`.
   */
  readonly announcements: PeersFrame[] = [];
  private onAnnouncement: (() => void) | null = null;
  private badFrame: string | null = null;
  /** Resolves with the close code and reason once the socket is closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  challenge = '';
  identity: Identity | null = null;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const decoded = decodeServerMessage(String(data));
      if (!decoded.ok) {
        // The server broke its own contract: fail whoever waits next.
        this.badFrame = `server sent a frame outside the protocol (${decoded.error}): ${String(data).slice(0, 200)}`;
        this.waiters.shift()?.reject(new Error(this.badFrame));
        return;
      }
      if (decoded.value.type === 'peers') {
        this.announcements.push(decoded.value);
        this.onAnnouncement?.();
        return;
      }
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(decoded.value);
      else this.queue.push(decoded.value);
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const w of this.waiters.splice(0)) w.reject(new Error(`socket closed (${code} ${reason.toString()}) while waiting for a frame`));
      });
    });
  }

  /** Opens a socket; the welcome is the first frame `next()` returns. */
  static async open(url: string, options: ClientOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(url, options);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** Opens a socket and reads the welcome, keeping its challenge for join(). */
  static async connect(url: string, options: ClientOptions = {}): Promise<TestClient> {
    const client = await TestClient.open(url, options);
    const welcome = await client.next();
    if (welcome.type !== 'welcome') throw new Error(`expected welcome first, got ${JSON.stringify(welcome)}`);
    client.challenge = welcome.challenge;
    return client;
  }

  /** The next frame from the server, in order; fails after the deadline or on close. */
  next(what = 'a frame'): Promise<ServerMessage> {
    if (this.badFrame) return Promise.reject(new Error(this.badFrame));
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.reject(new Error(`socket already closed; no ${what}`));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no ${what} within ${waitDeadlineMs} ms`));
      }, waitDeadlineMs);
      this.waiters.push(waiter);
    });
  }

  /**
   * Waits until the announcements received so far (all batches together) name every id in
   * `joined` as joined and every id in `left` as gone; fails after the deadline.
   */
  async announced(expected: { joined?: string[]; left?: string[] }): Promise<void> {
    const holds = () => {
      const joined = new Set(this.announcements.flatMap((f) => f.joined));
      const left = new Set(this.announcements.flatMap((f) => f.left));
      return (expected.joined ?? []).every((id) => joined.has(id)) && (expected.left ?? []).every((id) => left.has(id));
    };
    if (holds()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onAnnouncement = null;
        reject(new Error(`not announced within ${waitDeadlineMs} ms: ${JSON.stringify(expected)}; got ${JSON.stringify(this.announcements)}`));
      }, waitDeadlineMs);
      this.onAnnouncement = () => {
        if (!holds()) return;
        clearTimeout(timer);
        this.onAnnouncement = null;
        resolve();
      };
    });
  }

  /** The next frame, which must be an error; returns its code and message. */
  async nextError(): Promise<{ code: string; message: string }> {
    const frame = await this.next('an error frame');
    if (frame.type !== 'error') throw new Error(`expected an error frame, got ${JSON.stringify(frame)}`);
    return { code: frame.code, message: frame.message };
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Signs and sends a join with this connection's challenge; returns the joined frame. */
  async join(room: string, identity: Identity = newIdentity()): Promise<{ self: string; peers: string[] }> {
    this.identity = identity;
    this.send(joinFrame(this.challenge, room, identity));
    const frame = await this.next('joined');
    if (frame.type !== 'joined') throw new Error(`expected joined, got ${JSON.stringify(frame)}`);
    return { self: frame.self, peers: frame.peers };
  }

  get id(): string {
    if (!this.identity) throw new Error('not joined');
    return this.identity.id;
  }

  /**
   * A round trip through the server (ping → pong): everything the server sent this client
   * before it answered is in the queue afterwards, in TCP order. Returns what arrived.
   */
  async drain(): Promise<ServerMessage[]> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no pong within ${waitDeadlineMs} ms`)), waitDeadlineMs);
      this.ws.once('pong', () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.ping();
    });
    if (this.badFrame) throw new Error(this.badFrame);
    return this.queue.splice(0);
  }

  close(): void {
    this.ws.close();
  }
}

export function joinFrame(challenge: string, room: string, identity: Identity): Record<string, string> {
  return { type: 'join', room, id: identity.id, sig: identity.sign(joinSigningText(challenge, room, identity.id)) };
}

/** Connects and joins `count` clients to `room`, one after another. */
export async function joinMany(url: string, room: string, count: number): Promise<TestClient[]> {
  const clients: TestClient[] = [];
  for (let i = 0; i < count; i++) {
    const c = await TestClient.connect(url);
    await c.join(room);
    clients.push(c);
  }
  return clients;
}

/** Reads frames until one matches, failing on anything else (announcements may interleave). */
export async function nextMatching(
  client: TestClient,
  match: (f: ServerMessage) => boolean,
  skip: (f: ServerMessage) => boolean = () => false,
): Promise<ServerMessage> {
  for (;;) {
    const frame = await client.next();
    if (match(frame)) return frame;
    if (!skip(frame)) throw new Error(`unexpected frame ${JSON.stringify(frame)}`);
  }
}
