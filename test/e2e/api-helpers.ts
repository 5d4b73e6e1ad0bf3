// Helpers for tests of the library API in a tab: joinRoom through window.tabmesh.joinRoom (the
// app's own build), every event a room delivers logged in the page, and polling with a deadline.
import type { Page } from 'playwright-core';
import type { Room } from '../../src/api/index.ts';

/** What the test keeps in each page: its rooms, and every event they delivered, in order. */
export interface ApiTestState {
  rooms: Room[];
  events: Array<{ room: number; type: string; peer?: string; key?: string; value?: unknown; origin?: string; deleted?: boolean }>;
}
declare global {
  interface Window {
    apiTest?: ApiTestState;
  }
}

/** Joins `room` in `page` with the library API; resolves with the node's index in the page and its id. */
export async function join(page: Page, room: string): Promise<{ index: number; id: string }> {
  return page.evaluate(async (room) => {
    const state = (window.apiTest ??= { rooms: [], events: [] });
    const joined = await window.tabmesh.joinRoom({ room });
    const index = state.rooms.push(joined) - 1;
    joined.on('peer-join', (peer) => state.events.push({ room: index, type: 'join', peer }));
    joined.on('peer-leave', (peer) => state.events.push({ room: index, type: 'leave', peer }));
    joined.memory.on('change', ({ key, value, origin, deleted }) => state.events.push({ room: index, type: 'change', key, value, origin, deleted }));
    return { index, id: joined.id };
  }, room);
}

/** The events room `index` of `page` delivered so far. */
export const eventsOf = (page: Page, index: number) => page.evaluate((index) => (window.apiTest?.events ?? []).filter((e) => e.room === index), index);

/** Polls `read` until `done` holds (deadline `timeoutMs`); the error shows the last value. */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}\nlast: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

export const joinsOf = (events: Array<{ type: string; peer?: string }>) => events.filter((e) => e.type === 'join').map((e) => e.peer);
