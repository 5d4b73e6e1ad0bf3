// The STUN/TURN servers of a Node peer: the same ones the server hands to its pages at
// /config.json (as src/mesh-node.ts reads them), unless --ice-servers says otherwise. What
// the server answers is checked like any input; a server that cannot be reached yet is asked
// again with backoff while the node runs, since links cannot form before it is reachable anyway.
import { decodeWith } from '../core/decode.ts';
import { iceServersSchema, iceTransportPolicySchema, type IceServerConfig, type IceTransportPolicy } from '../../signaling/ice-config.ts';

/** How long one request for /config.json may take. */
export const configFetchTimeoutMs = 3_000;
/** Retry delays for /config.json while the server is unreachable: doubling, capped. */
export const configRetryBaseMs = 1_000;
export const configRetryMaxMs = 30_000;
/** Larger answers are not read (a config holds at most 16 servers). */
const maxConfigBytes = 64 * 1024;

export type IceFetch = { ok: true; servers: IceServerConfig; policy: IceTransportPolicy } | { ok: false; retry: boolean; error: string };

/** One request for the server's ICE servers and transport policy. `retry`: whether asking again later may help. */
export async function fetchIceServers(configUrl: string, timeoutMs = configFetchTimeoutMs): Promise<IceFetch> {
  let response: Response;
  try {
    response = await fetch(configUrl, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown; message?: unknown; errors?: Array<{ code?: unknown }> } }).cause;
    const why = cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
    return { ok: false, retry: true, error: `${configUrl} cannot be reached (${String(why)})` };
  }
  // An older server without /config.json: no ICE servers, as a page would conclude.
  if (response.status === 404) return { ok: true, servers: [], policy: 'all' };
  if (!response.ok) return { ok: false, retry: response.status >= 500, error: `${configUrl} answered HTTP ${response.status}` };
  const text = await response.text().catch(() => '');
  if (text.length > maxConfigBytes) return { ok: false, retry: false, error: `${configUrl} answered more than ${maxConfigBytes} bytes` };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, retry: false, error: `${configUrl} did not answer JSON` };
  }
  const fields = body as { iceServers?: unknown; iceTransportPolicy?: unknown } | null;
  const decoded = decodeWith(iceServersSchema, fields?.iceServers ?? []);
  if (!decoded.ok) return { ok: false, retry: false, error: `ignoring the ICE servers from ${configUrl}: ${decoded.error}` };
  const policy = decodeWith(iceTransportPolicySchema, fields?.iceTransportPolicy ?? 'all');
  if (!policy.ok) return { ok: false, retry: false, error: `ignoring the ICE servers from ${configUrl}: ${policy.error}` };
  return { ok: true, servers: decoded.value, policy: policy.value };
}
