// The browser probes on fakes of one feature each (Node's own WebCrypto and fake-indexeddb for
// the working cases): each says yes only when the feature really worked, and says what failed
// otherwise. The probes against a real Chromium are in test/e2e/capabilities.test.ts.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import {
  probeAnswerMs,
  probeCapabilities,
  probeDatabaseName,
  probeIndexedDb,
  probeModuleWorker,
  probeWebLocks,
  probeWebRtc,
  requireCapabilities,
  type ProbeEnvironment,
  type ProbeWorker,
} from '../../src/capability-probes.ts';
import { probeEd25519 } from '../../src/crypto/ed25519-probe.ts';
import { workerCapabilityRefusal } from '../../src/worker/capability-check.ts';
import { CapabilityError } from '../../src/capabilities.ts';
import { decodeWorkerToPage } from '../../src/worker/protocol.ts';

const notSupported = () => Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError'));

/** Node's WebCrypto with one method replaced. */
function subtleWith(overrides: Partial<Record<keyof SubtleCrypto, unknown>>): SubtleCrypto {
  const real = globalThis.crypto.subtle;
  return new Proxy(real, {
    get: (target, name) =>
      name in overrides ? overrides[name as keyof SubtleCrypto] : (Reflect.get(target, name) as (...a: unknown[]) => unknown).bind(target),
  });
}

type Listener = (event: Event & { data?: unknown; message?: string }) => void;
class FakeWorker implements ProbeWorker {
  terminated = false;
  readonly listeners = new Map<string, Listener[]>();
  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  terminate(): void {
    this.terminated = true;
  }
  fire(type: string, fields: { data?: unknown; message?: string }): void {
    for (const listener of this.listeners.get(type) ?? []) listener(Object.assign(new Event(type, { cancelable: true }), fields));
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Ed25519 probe', () => {
  test("Node's WebCrypto signs and verifies with Ed25519", async () => {
    expect(await probeEd25519(globalThis.crypto.subtle)).toEqual({ ok: true });
  });

  test('no crypto.subtle (an insecure page) is a no', async () => {
    expect(await probeEd25519(undefined)).toEqual({ ok: false, detail: 'crypto.subtle is not available' });
  });

  test('a subtle without Ed25519 (Chrome before 137) is a no that names the refusing step', async () => {
    expect(await probeEd25519(subtleWith({ generateKey: notSupported }))).toEqual({
      ok: false,
      detail: 'crypto.subtle.generateKey refused Ed25519 (NotSupportedError: Unrecognized name.)',
    });
    expect(await probeEd25519(subtleWith({ sign: notSupported }))).toMatchObject({ ok: false, detail: expect.stringContaining('crypto.subtle.sign refused') });
  });

  test('verify is tried, not assumed: one that says yes to everything, or to nothing, is a no', async () => {
    expect(await probeEd25519(subtleWith({ verify: () => Promise.resolve(true) }))).toMatchObject({
      ok: false,
      detail: expect.stringContaining('verified for a message it was not made for'),
    });
    expect(await probeEd25519(subtleWith({ verify: () => Promise.resolve(false) }))).toMatchObject({
      ok: false,
      detail: expect.stringContaining('did not verify'),
    });
  });
});

describe('Web Locks probe', () => {
  test('a lock manager that grants a lock is a yes', async () => {
    const request = vi.fn((_name: string, _options: LockOptions, callback: (lock: Lock | null) => unknown) => Promise.resolve(callback(null)));
    expect(await probeWebLocks({ request } as unknown as Pick<LockManager, 'request'>)).toEqual({ ok: true });
    expect(request).toHaveBeenCalledWith('tabmesh-capability-probe', { ifAvailable: true }, expect.any(Function));
  });

  test('no navigator.locks, or one that refuses, is a no', async () => {
    expect(await probeWebLocks(undefined)).toEqual({ ok: false, detail: 'navigator.locks is not available' });
    const request = () => Promise.reject(new DOMException('Access to the Locks API is denied in this context.', 'SecurityError'));
    expect(await probeWebLocks({ request } as unknown as Pick<LockManager, 'request'>)).toEqual({
      ok: false,
      detail: 'navigator.locks.request failed (SecurityError: Access to the Locks API is denied in this context.)',
    });
  });
});

describe('IndexedDB probe', () => {
  test('a database that opens is a yes, and the probe database is deleted again', async () => {
    const factory = new IDBFactory();
    expect(await probeIndexedDb(factory)).toEqual({ ok: true });
    await vi.waitFor(async () => expect((await factory.databases()).map((d) => d.name)).not.toContain(probeDatabaseName));
  });

  test('open that throws, or fails as in a Firefox private window, is a no with the reason', async () => {
    expect(await probeIndexedDb(undefined)).toEqual({ ok: false, detail: 'indexedDB is not available' });
    const throwing = {
      open: () => {
        throw new DOMException('The operation is insecure.', 'SecurityError');
      },
      deleteDatabase: () => null,
    } as unknown as IDBFactory;
    expect(await probeIndexedDb(throwing)).toEqual({ ok: false, detail: 'indexedDB.open threw SecurityError: The operation is insecure.' });
    const failing = {
      open: () => {
        const request = Object.assign(new EventTarget(), {
          error: new DOMException('A mutation operation was attempted on a database that did not allow mutations.', 'InvalidStateError'),
        });
        queueMicrotask(() => request.dispatchEvent(new Event('error', { cancelable: true })));
        return request;
      },
      deleteDatabase: () => null,
    } as unknown as IDBFactory;
    expect(await probeIndexedDb(failing)).toEqual({
      ok: false,
      detail: 'InvalidStateError: A mutation operation was attempted on a database that did not allow mutations.',
    });
  });

  test(`no answer within ${probeAnswerMs} ms is a no`, async () => {
    vi.useFakeTimers();
    const silent = { open: () => new EventTarget(), deleteDatabase: () => null } as unknown as IDBFactory;
    const outcome = probeIndexedDb(silent);
    await vi.advanceTimersByTimeAsync(probeAnswerMs);
    expect(await outcome).toEqual({ ok: false, detail: `indexedDB.open did not answer within ${probeAnswerMs / 1000} s` });
  });
});

describe('module worker probe', () => {
  test('an answer from the running module is a yes; the probe worker is ended', async () => {
    const worker = new FakeWorker();
    const outcome = probeModuleWorker(() => worker);
    worker.fire('message', { data: 'module' });
    expect(await outcome).toEqual({ ok: true });
    expect(worker.terminated).toBe(true);
  });

  test('a constructor that refuses { type: "module" } (Firefox before 114) is a no', async () => {
    const refusing = () => {
      throw new TypeError('Module scripts are not supported on DedicatedWorker yet.');
    };
    expect(await probeModuleWorker(refusing)).toEqual({
      ok: false,
      detail: "new Worker(…, { type: 'module' }) threw TypeError: Module scripts are not supported on DedicatedWorker yet.",
    });
    expect(await probeModuleWorker(undefined)).toEqual({ ok: false, detail: 'there are no Web Workers' });
  });

  test('a script run as a classic worker (a syntax error at import.meta) is a no', async () => {
    const worker = new FakeWorker();
    const outcome = probeModuleWorker(() => worker);
    worker.fire('error', { message: "SyntaxError: Cannot use 'import.meta' outside a module" });
    expect(await outcome).toMatchObject({
      ok: false,
      detail: expect.stringContaining("failed to run (SyntaxError: Cannot use 'import.meta' outside a module)"),
    });
    expect(worker.terminated).toBe(true);
  });

  test('no answer in time proves nothing: the node is let start, the probe worker ended', async () => {
    vi.useFakeTimers();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const worker = new FakeWorker();
    const outcome = probeModuleWorker(() => worker);
    await vi.advanceTimersByTimeAsync(probeAnswerMs);
    expect(await outcome).toEqual({ ok: true });
    expect(worker.terminated).toBe(true);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('did not answer'));
    warn.mockRestore();
  });
});

describe('WebRTC probe', () => {
  test('a peer connection that can be made is a yes; none, or one that throws, is a no', () => {
    const closed: boolean[] = [];
    class Peer {
      close() {
        closed.push(true);
      }
    }
    expect(probeWebRtc(Peer)).toEqual({ ok: true });
    expect(closed).toEqual([true]);
    expect(probeWebRtc(undefined)).toMatchObject({ ok: false, detail: expect.stringContaining('RTCPeerConnection is not defined') });
    class Blocked {
      constructor() {
        throw new DOMException('disabled', 'NotSupportedError');
      }
      close() {}
    }
    expect(probeWebRtc(Blocked)).toEqual({ ok: false, detail: 'new RTCPeerConnection() threw NotSupportedError: disabled' });
  });
});

describe('all probes together', () => {
  const page = { protocol: 'https:', host: 'example.test', pathname: '/', search: '' };
  const working = (): ProbeEnvironment => {
    const worker = new FakeWorker();
    return {
      isSecureContext: true,
      subtle: globalThis.crypto.subtle,
      locks: { request: (_n: string, _o: LockOptions, callback: (lock: Lock | null) => unknown) => Promise.resolve(callback(null)) } as unknown as Pick<
        LockManager,
        'request'
      >,
      indexedDB: new IDBFactory(),
      startModuleWorker: () => {
        queueMicrotask(() => worker.fire('message', { data: 'module' }));
        return worker;
      },
      RTCPeerConnection: class {
        close() {}
      },
    };
  };

  test('a browser with everything passes', async () => {
    const results = await probeCapabilities(working());
    expect(Object.values(results).every((r) => r === true || (typeof r === 'object' && r.ok))).toBe(true);
    await expect(requireCapabilities(page, working())).resolves.toBeUndefined();
  });

  test('one lacking several things is refused with all of them', async () => {
    const env: ProbeEnvironment = { ...working(), locks: undefined, RTCPeerConnection: undefined };
    const error = await requireCapabilities(page, env).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CapabilityError);
    expect((error as CapabilityError).codes).toEqual(['no-web-locks', 'no-webrtc']);
  });
});

describe("the protocol worker's own check", () => {
  test('a secure worker with Ed25519 goes on', async () => {
    expect(await workerCapabilityRefusal({ isSecureContext: true, crypto: globalThis.crypto })).toBeNull();
  });

  test('a worker without WebCrypto, or without Ed25519, refuses with a code', async () => {
    expect(await workerCapabilityRefusal({ isSecureContext: false, crypto: {} })).toMatchObject({
      code: 'insecure-context',
      message: expect.stringContaining('https://'),
    });
    expect(await workerCapabilityRefusal({ isSecureContext: true, crypto: { subtle: subtleWith({ generateKey: notSupported }) } })).toMatchObject({
      code: 'no-ed25519',
      message: expect.stringContaining('NotSupportedError'),
    });
  });

  test('its fatal report carries the code across postMessage; an unknown code is refused', () => {
    expect(decodeWorkerToPage({ type: 'fatal', message: 'no WebCrypto', code: 'insecure-context' })).toEqual({
      ok: true,
      value: { type: 'fatal', message: 'no WebCrypto', code: 'insecure-context' },
    });
    expect(decodeWorkerToPage({ type: 'fatal', message: 'crashed' }).ok).toBe(true);
    expect(decodeWorkerToPage({ type: 'fatal', message: 'x', code: 'no-such-thing' })).toMatchObject({ ok: false, error: expect.stringMatching(/^code:/) });
  });
});
