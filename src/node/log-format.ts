// The two faces of the Node peer's log: a readable line for a person at a terminal or reading
// a journal, and a JSON line (--json) for programs. Text that came from other nodes (messages,
// memory keys and values, refusal reasons) is escaped in readable lines: a peer must not be
// able to send escape sequences to the operator's terminal.
import type { LogEvent } from './log-events.ts';
import { memberTableText } from '../worker/services/member-table.ts';

/** Longest preview of a memory value in a readable line; JSON lines carry the whole value. */
export const maxValuePreviewChars = 80;
/** Longest piece of peer-supplied text (a message, a key, a reason) in a readable line. */
export const maxTextChars = 200;
/** Characters of a node id shown in readable lines (JSON lines carry the full id). */
export const shortIdChars = 8;

export function formatJsonLine(event: LogEvent, at: Date): string {
  return JSON.stringify({ time: at.toISOString(), ...event });
}

export function formatReadableLine(event: LogEvent, at: Date): string {
  const [label, text] = describe(event);
  return `${at.toISOString()}  ${label.padEnd(9)}  ${text}`;
}

function describe(e: LogEvent): [string, string] {
  switch (e.event) {
    case 'starting':
      return ['starting', `room ${e.room} through ${e.signalingUrl}; data in ${e.dataDir}`];
    case 'ready':
      return ['ready', `node ${e.id} (identity ${clean(e.identity)}); services: ${e.services.join(', ') || 'none'}`];
    case 'note':
      return ['note', clean(e.message)];
    case 'ice-servers':
      return [
        'ice',
        e.source === 'none' ? `no STUN/TURN servers (${clean(e.detail)})` : `${e.count} STUN/TURN server${e.count === 1 ? '' : 's'} from ${clean(e.detail)}`,
      ];
    case 'signaling':
      return ['signaling', e.detail ? `${e.status}: ${clean(e.detail)}` : e.status];
    case 'signaling-notice':
      return ['signaling', `${e.code}: ${clean(e.message)}`];
    case 'link-up':
      return [
        'link up',
        `${short(e.peer)}  ${e.rttMs === null ? 'rtt not measured yet' : `rtt ${ms(e.rttMs)}`} (${e.initiator ? 'we called' : 'they called'})`,
      ];
    case 'link-down':
      return ['link down', `${short(e.peer)}  after ${seconds(e.upForMs)}${e.lastRttMs === null ? '' : ` (last rtt ${ms(e.lastRttMs)})`}`];
    case 'link-failed':
      return [
        e.state === 'unreachable' ? 'unreachable' : 'link failed',
        `${short(e.peer)}  attempt ${e.attempts} (${e.reason}; candidates here ${e.local.join('+') || 'none'}, there ${e.remote.join('+') || 'none'})${e.state === 'unreachable' ? ': stopped trying' : ': will try again'}. ${e.advice}`,
      ];
    case 'member':
      return ['member', `${short(e.peer)}  ${e.status}${e.previous === null ? ' (new)' : ` (was ${e.previous})`}`];
    case 'member-forgotten':
      return ['member', `${short(e.peer)}  forgotten`];
    case 'member-table': {
      const { event: _event, ...table } = e;
      return [
        'members',
        table.sampled
          ? `the room outgrew the member table (${table.viewSize} live members): it is now ${memberTableText(table)}, rotating; members entering or leaving the sample are not logged`
          : `the member table holds the whole room again (${table.live} live members)`,
      ];
    }
    case 'memory-set':
      return ['memory', `${clean(e.key)} = ${preview(e.value)}  by ${short(e.origin)}`];
    case 'memory-deleted':
      return ['memory', `${clean(e.key)} deleted`];
    case 'memory-more':
      return ['memory', `… and ${e.count} more change${e.count === 1 ? '' : 's'}`];
    case 'refused':
      return ['refused', `${e.count}× ${clean(e.reason)} (${e.total} in all)`];
    case 'refused-more':
      return ['refused', `… and ${e.count} more for other reasons`];
    case 'message':
      return ['message', `from ${short(e.from)}: ${clean(e.text)}`];
    case 'status': {
      const rtts = e.links.map((l) => l.rttMs).filter((r): r is number => r !== null);
      const range = rtts.length === 0 ? '' : ` (rtt ${ms(Math.min(...rtts))}${rtts.length > 1 ? `–${ms(Math.max(...rtts))}` : ''})`;
      const sample = e.roomAtLeast === null ? '' : ` (a sample of a room of ≥ ${e.roomAtLeast})`;
      return [
        'status',
        `${e.signaling}; ${e.links.length} link${e.links.length === 1 ? '' : 's'}${range}; ${e.membersAlive}/${e.members} members alive${sample}; ${e.keys} memory key${e.keys === 1 ? '' : 's'}`,
      ];
    }
    case 'storage-problem':
      return ['storage', clean(e.message)];
    case 'leaving':
      return ['leaving', clean(e.reason)];
    case 'stopped':
      return ['stopped', `${clean(e.reason)} (exit ${e.exitCode})`];
    case 'error':
      return ['error', clean(e.message)];
  }
}

const short = (id: string): string => (id.length > shortIdChars ? id.slice(0, shortIdChars) : clean(id));
const ms = (value: number): string => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
const seconds = (value: number): string => (value < 60_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value / 60_000)} min`);

/** A short JSON rendering of a value, cut at maxValuePreviewChars. */
function preview(value: unknown): string {
  const json = JSON.stringify(value) ?? 'undefined';
  return clean(json.length > maxValuePreviewChars ? `${json.slice(0, maxValuePreviewChars - 1)}…` : json);
}

/**
 * Peer-supplied text made safe for a terminal: control characters (C0, DEL, C1 — ESC and CSI
 * among them), line and paragraph separators and bidirectional overrides are shown as \u
 * escapes; long text is cut.
 */
export function clean(text: string): string {
  const cut = text.length > maxTextChars ? `${text.slice(0, maxTextChars - 1)}…` : text;
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
