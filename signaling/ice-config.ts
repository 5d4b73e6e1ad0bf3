// ICE servers (STUN/TURN) the operator configures for every page this server hands out, so
// devices behind NATs can connect. None are needed on one machine or a LAN. The page reads
// them from GET /config.json at start-up.
import * as v from 'valibot';
import { decodeWith, parseJson, type Decoded } from '../src/core/decode.ts';

export const clientConfigPath = '/config.json';

const iceUrl = v.pipe(v.string(), v.regex(/^(stun|stuns|turn|turns):[^\s]+$/, 'an ICE server URL starts with stun:, stuns:, turn: or turns:'));
export const iceServersSchema = v.pipe(
  v.array(
    v.strictObject({
      urls: v.union([iceUrl, v.pipe(v.array(iceUrl), v.minLength(1))]),
      username: v.optional(v.string()),
      credential: v.optional(v.string()),
    }),
  ),
  v.maxLength(16, 'at most 16 ICE servers'),
);
export type IceServerConfig = v.InferOutput<typeof iceServersSchema>;

/** Parses the --ice-servers flag / ICE_SERVERS variable: a JSON array of RTCIceServer objects. */
export function parseIceServers(text: string): Decoded<IceServerConfig> {
  const parsed = parseJson(text);
  if (!parsed.ok) return { ok: false, error: 'ICE servers must be JSON, e.g. [{"urls":"stun:stun.example.org:3478"}]' };
  return decodeWith(iceServersSchema, parsed.value);
}

/**
 * Which candidates pages may use: 'all' (default), or 'relay' to use TURN relays only — to
 * test a TURN server, or so peers never learn each other's addresses.
 */
export const iceTransportPolicySchema = v.picklist(['all', 'relay'], "the ICE transport policy is 'all' or 'relay'");
export type IceTransportPolicy = v.InferOutput<typeof iceTransportPolicySchema>;

/** Parses the --ice-transport-policy flag / ICE_TRANSPORT_POLICY variable. */
export function parseIceTransportPolicy(text: string): Decoded<IceTransportPolicy> {
  return decodeWith(iceTransportPolicySchema, text);
}

/** GET /config.json as a page reads it: bad fields are refused, missing ones default. */
export const clientConfigSchema = v.object({
  iceServers: v.optional(iceServersSchema, []),
  iceTransportPolicy: v.optional(iceTransportPolicySchema, 'all'),
});
export type ClientConfig = v.InferOutput<typeof clientConfigSchema>;

/**
 * What the welcome card needs to send people to other devices: the URLs they open
 * (`https://<lan-address>:PORT/` when the server speaks TLS, as printed at start-up; a page on
 * localhost cannot know this machine's LAN address) and the SHA-256 fingerprint of the
 * self-signed certificate they will be warned about, to compare before accepting it.
 */
export const pageShareSchema = v.object({
  lanUrls: v.optional(v.pipe(v.array(v.pipe(v.string(), v.url(), v.regex(/^https?:/))), v.maxLength(64)), []),
  certFingerprint: v.optional(v.pipe(v.string(), v.regex(/^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/))),
});
export interface PageShare {
  lanUrls?: readonly string[];
  certFingerprint?: string;
}

/** What GET /config.json answers; the policy only when it is not the default, the sharing fields only when known. */
export function clientConfigBody(iceServers: IceServerConfig, iceTransportPolicy: IceTransportPolicy = 'all', share: PageShare = {}): string {
  return JSON.stringify({
    iceServers,
    ...(iceTransportPolicy === 'all' ? {} : { iceTransportPolicy }),
    ...(share.lanUrls && share.lanUrls.length > 0 ? { lanUrls: share.lanUrls } : {}),
    ...(share.certFingerprint ? { certFingerprint: share.certFingerprint } : {}),
  });
}
