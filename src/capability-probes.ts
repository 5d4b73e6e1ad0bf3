// The page's look at what the browser can do, before the protocol worker starts. Each probe
// tries the feature for real (an Ed25519 signature, a lock, a database, a module worker, a peer
// connection) rather than trusting that a name exists, since browsers expose half-finished or
// disabled features. They run side by side; src/capabilities.ts turns the findings into words.
// The browser's globals come in as a ProbeEnvironment, so the probes are unit tested with fakes.
import { capabilityError, type PageAddress, type ProbeOutcome, type ProbeResults } from './capabilities.ts';
import { describeError, probeEd25519 } from './crypto/ed25519-probe.ts';

/** The slice of a Worker the module probe uses. */
export interface ProbeWorker {
  addEventListener(type: 'message' | 'error', listener: (event: Event & { data?: unknown; message?: string }) => void): void;
  terminate(): void;
}

export interface ProbeEnvironment {
  isSecureContext: boolean;
  subtle: SubtleCrypto | undefined;
  locks: Pick<LockManager, 'request'> | undefined;
  indexedDB: Pick<IDBFactory, 'open' | 'deleteDatabase'> | undefined;
  /** Starts src/worker/module-probe.worker.ts as a module worker; undefined where there is no Worker at all. */
  startModuleWorker: (() => ProbeWorker) | undefined;
  RTCPeerConnection: (new () => { close(): void }) | undefined;
}

/**
 * Longest wait for a probe that answers asynchronously (a database, a worker). Each answers in
 * milliseconds, a loaded machine stretches that to a second or two; 10 s is far outside normal.
 */
export const probeAnswerMs = 10_000;
/** The database the IndexedDB probe opens and deletes again. */
export const probeDatabaseName = 'tabmesh-capability-probe';
/** The lock the Web Locks probe takes for a moment. */
export const probeLockName = 'tabmesh-capability-probe';

const missing = (detail: string): ProbeOutcome => ({ ok: false, detail });
const present: ProbeOutcome = { ok: true };

/** `work`'s outcome, or `onTimeout` if it has not settled within probeAnswerMs. */
function withDeadline(work: Promise<ProbeOutcome>, onTimeout: () => ProbeOutcome): Promise<ProbeOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<ProbeOutcome>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), probeAnswerMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export async function probeWebLocks(locks: ProbeEnvironment['locks']): Promise<ProbeOutcome> {
  if (!locks || typeof locks.request !== 'function') return missing('navigator.locks is not available');
  try {
    // ifAvailable: granted at once or not at all (another tab probing now), never queued.
    await locks.request(probeLockName, { ifAvailable: true }, () => undefined);
    return present;
  } catch (error) {
    return missing(`navigator.locks.request failed (${describeError(error)})`);
  }
}

export function probeIndexedDb(factory: ProbeEnvironment['indexedDB']): Promise<ProbeOutcome> {
  if (!factory || typeof factory.open !== 'function') return Promise.resolve(missing('indexedDB is not available'));
  const opened = new Promise<ProbeOutcome>((resolve) => {
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(probeDatabaseName);
    } catch (error) {
      resolve(missing(`indexedDB.open threw ${describeError(error)}`));
      return;
    }
    request.addEventListener('success', () => {
      request.result.close();
      // Leave nothing behind; whether the delete finishes does not matter to the answer.
      try {
        factory.deleteDatabase(probeDatabaseName);
      } catch {
        // A browser that opens but cannot delete still stores data: the answer stands.
      }
      resolve(present);
    });
    request.addEventListener('error', (event) => {
      event.preventDefault();
      resolve(missing(request.error ? describeError(request.error) : 'indexedDB.open reported an error'));
    });
  });
  return withDeadline(opened, () => missing(`indexedDB.open did not answer within ${probeAnswerMs / 1000} s`));
}

/**
 * A browser without module workers either refuses { type: 'module' } outright (Firefox before
 * 114 threw) or runs the script as a classic one, where the probe's `import.meta` is a syntax
 * error. Only an answer from the running module counts as yes. No answer at all in time proves
 * nothing either way: that is let through, and the supervisor handles a worker that never speaks.
 */
export function probeModuleWorker(start: ProbeEnvironment['startModuleWorker']): Promise<ProbeOutcome> {
  if (!start) return Promise.resolve(missing('there are no Web Workers'));
  let worker: ProbeWorker;
  try {
    worker = start();
  } catch (error) {
    return Promise.resolve(missing(`new Worker(…, { type: 'module' }) threw ${describeError(error)}`));
  }
  const answered = new Promise<ProbeOutcome>((resolve) => {
    worker.addEventListener('message', (event) =>
      resolve(event.data === 'module' ? present : missing(`a worker started as a module answered ${JSON.stringify(event.data)}, not as a module`)),
    );
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      resolve(missing(`a worker started with { type: 'module' } failed to run${event.message ? ` (${event.message})` : ''}`));
    });
  });
  return withDeadline(answered, () => {
    console.warn(`tabmesh: the module-worker probe did not answer within ${probeAnswerMs / 1000} s; starting anyway`);
    return present;
  }).finally(() => worker.terminate());
}

export function probeWebRtc(Peer: ProbeEnvironment['RTCPeerConnection']): ProbeOutcome {
  if (typeof Peer !== 'function') return missing('RTCPeerConnection is not defined (WebRTC is missing or turned off)');
  try {
    new Peer().close();
    return present;
  } catch (error) {
    return missing(`new RTCPeerConnection() threw ${describeError(error)}`);
  }
}

export async function probeCapabilities(env: ProbeEnvironment): Promise<ProbeResults> {
  const [ed25519, webLocks, indexedDb, moduleWorker] = await Promise.all([
    probeEd25519(env.subtle),
    probeWebLocks(env.locks),
    probeIndexedDb(env.indexedDB),
    probeModuleWorker(env.startModuleWorker),
  ]);
  return { secureContext: env.isSecureContext, ed25519, webLocks, indexedDb, moduleWorker, webrtc: probeWebRtc(env.RTCPeerConnection) };
}

/** This page's globals, as the probes see them. */
export function browserEnvironment(): ProbeEnvironment {
  const scope = globalThis as unknown as {
    isSecureContext?: boolean;
    crypto?: Crypto;
    navigator?: { locks?: LockManager };
    indexedDB?: IDBFactory;
    RTCPeerConnection?: new () => { close(): void };
  };
  return {
    isSecureContext: scope.isSecureContext === true,
    subtle: scope.crypto?.subtle,
    locks: scope.navigator?.locks,
    indexedDB: scope.indexedDB,
    startModuleWorker:
      typeof Worker === 'function'
        ? () => new Worker(new URL('./worker/module-probe.worker.ts', import.meta.url), { type: 'module', name: 'tabmesh-capability-probe' })
        : undefined,
    RTCPeerConnection: scope.RTCPeerConnection,
  };
}

/**
 * Resolves when this browser has everything Tabmesh needs; otherwise rejects with a
 * CapabilityError (src/capabilities.ts) that lists every missing thing and what to do.
 */
export async function requireCapabilities(page: PageAddress = location, env: ProbeEnvironment = browserEnvironment()): Promise<void> {
  const error = capabilityError(await probeCapabilities(env), page);
  if (error) throw error;
}
