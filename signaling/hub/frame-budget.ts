// Every frame a client sends (control frames too) costs one frame and its bytes, from its
// connection's budgets and from its address's, shared by all the address's connections.
import type { Conn } from './conn.ts';
import { refuse } from './outbox.ts';
import type { Hub } from './state.ts';

/** What a WebSocket frame costs on top of its payload (header and mask), for the byte limit. */
export const frameOverheadBytes = 6;

/** Takes one frame and `bytes` from the connection's limits; refuses (with a strike) when over. */
export function admit(hub: Hub, conn: Conn, bytes: number, what: string): boolean {
  if (conn.closing) return false;
  const t = hub.now();
  const { frames, bytes: byteRate, addressShare } = hub.config;
  if (!conn.bucket.tryTake(t)) {
    refuse(
      hub,
      conn,
      'rate-limited',
      `more than ${frames.ratePerS} frames per second (burst ${frames.burst}, control frames included); this ${what} was dropped — slow down`,
    );
    return false;
  }
  if (!conn.byteBucket.tryTake(t, bytes)) {
    refuse(
      hub,
      conn,
      'rate-limited',
      `more than ${byteRate.ratePerS} bytes per second (burst ${byteRate.burst}); this ${what} of ${bytes} bytes was dropped — slow down`,
    );
    return false;
  }
  if (!hub.addressFrames.tryTake(conn.address, t) || !hub.addressBytes.tryTake(conn.address, t, bytes)) {
    refuse(
      hub,
      conn,
      'rate-limited',
      `your address sends more than ${addressShare} connections' worth of frames or bytes per second across its connections; ` +
        `this ${what} was dropped — slow down`,
    );
    return false;
  }
  return true;
}
