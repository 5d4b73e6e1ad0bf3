// A ServiceContext for unit tests of one service: a clock the test moves, a seeded Rng, an
// in-memory store, signatures that always check out, and nowhere to send. Tests override what
// they watch (wantLink, reject, linkedPeers, …).
import { createRng } from '../../src/core/rng.ts';
import type { Millis, NodeId } from '../../src/core/types.ts';
import { MemoryStorage } from '../../src/store/memory.ts';
import type { ServiceContext } from '../../src/worker/service.ts';
import { realTimers } from '../../src/worker/real-clock.ts';

export function fakeServiceContext(now: () => Millis, seed: number, overrides: Partial<ServiceContext> = {}): ServiceContext {
  return {
    self: 'n-self' as NodeId,
    room: 'r',
    now,
    timers: realTimers,
    reenter: (fn) => fn(),
    rng: createRng(seed),
    storage: new MemoryStorage(),
    send: () => false,
    linkedPeers: () => [],
    wantLink: () => {},
    unwantLink: () => {},
    sign: async () => 'sig',
    verify: async () => true,
    changed: () => {},
    reject: () => {},
    emit: () => {},
    sendTo: () => {},
    broadcast: () => {},
    ...overrides,
  };
}
