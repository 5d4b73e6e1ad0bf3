// joinRoom's options: every bad option is refused with an InvalidArgumentError that names it
// and says what it must be; good options pass unchanged.
import { describe, expect, it } from 'vitest';
import { checkJoinRoomOptions } from '../../../src/api/options.ts';
import { InvalidArgumentError, TabmeshError } from '../../../src/api/errors.ts';

function refusal(options: unknown): InvalidArgumentError {
  try {
    checkJoinRoomOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toBeInstanceOf(TabmeshError);
    return error as InvalidArgumentError;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('joinRoom options', () => {
  it('accepts a room alone and every option given well', () => {
    expect(checkJoinRoomOptions({ room: 'demo' })).toEqual({ room: 'demo' });
    const signal = new AbortController().signal;
    const full = {
      room: 'a.b-c_1',
      signaling: ['ws://127.0.0.1:8080/signal', 'wss://example.org/signal'],
      iceServers: [{ urls: 'stun:stun.example.org:3478' }],
      iceTransportPolicy: 'relay' as const,
      password: 'correct horse',
      signal,
    };
    expect(checkJoinRoomOptions(full)).toEqual(full);
    expect(checkJoinRoomOptions({ room: 'x', signaling: 'ws://localhost/signal' }).signaling).toBe('ws://localhost/signal');
  });

  it('refuses a missing or malformed options object', () => {
    for (const bad of [undefined, null, 'demo', [], 42]) {
      const error = refusal(bad);
      expect(error.code).toBe('invalid-argument');
      expect(error.argument).toBe('options');
      expect(error.message).toMatch(/must be an object such as \{ room: "demo" \}/);
    }
  });

  it('names the room and says what a room name is', () => {
    expect(refusal({}).message).toBe('options.room: is required');
    for (const room of [undefined, '', 'has space', 'x'.repeat(65), 7]) {
      const error = refusal({ room });
      expect(error.argument).toBe('options.room');
      if (typeof room === 'string') expect(error.message).toMatch(/1–64 letters, digits, dots, dashes or underscores/);
    }
  });

  it('refuses an unknown option with the list of known ones (a typo is caught)', () => {
    const error = refusal({ room: 'demo', signalling: 'ws://x/signal' });
    expect(error.argument).toBe('options.signalling');
    expect(error.message).toMatch(/is not an option; the options are room, signaling, iceServers, iceTransportPolicy, password, signal/);
  });

  it('refuses signaling URLs that are not ws:// or wss://, and an empty list', () => {
    expect(refusal({ room: 'demo', signaling: 'http://example.org' }).message).toMatch(/ws:\/\/ or wss:\/\//);
    expect(refusal({ room: 'demo', signaling: ['ws://ok/signal', 'nonsense'] }).argument).toMatch(/^options\.signaling/);
    expect(refusal({ room: 'demo', signaling: [] }).message).toMatch(/at least one signaling URL/);
  });

  it('refuses a short password with the minimum, bad ICE settings and a signal that is not an AbortSignal', () => {
    const password = refusal({ room: 'demo', password: 'short' });
    expect(password.argument).toBe('options.password');
    expect(password.message).toMatch(/at least 8 characters/);
    expect(refusal({ room: 'demo', iceTransportPolicy: 'none' }).message).toMatch(/'all' or 'relay'/);
    expect(refusal({ room: 'demo', iceServers: [{ urls: 'http://x' }] }).argument).toMatch(/^options\.iceServers/);
    expect(refusal({ room: 'demo', signal: { aborted: false } }).message).toMatch(/must be an AbortSignal/);
  });
});
