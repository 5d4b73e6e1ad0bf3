// The command line of tabmesh-node: what a person types, what it becomes, and what is refused.
import { describe, expect, test } from 'vitest';
import { nodeUsage, parseNodeArgs, signalEndpoints, type NodeCliCommand } from '../../src/node/cli.ts';
import { NodePeerProcess } from './cli-process.ts';

const home = '/home/pi/.tabmesh-node';
const run = (command: NodeCliCommand) => {
  if (command.kind !== 'run') throw new Error(`expected a run, got ${JSON.stringify(command)}`);
  return command.options;
};
const refusal = (command: NodeCliCommand) => {
  if (command.kind !== 'error') throw new Error(`expected a refusal, got ${JSON.stringify(command)}`);
  return command.message;
};

describe('the address people open becomes the signaling endpoint', () => {
  test.each([
    ['http://192.168.1.20:8080', 'ws://192.168.1.20:8080/signal', 'http://192.168.1.20:8080/config.json', 'http://192.168.1.20:8080'],
    ['http://192.168.1.20:8080/?room=lab', 'ws://192.168.1.20:8080/signal', 'http://192.168.1.20:8080/config.json', 'http://192.168.1.20:8080'],
    ['https://mesh.example.org', 'wss://mesh.example.org/signal', 'https://mesh.example.org/config.json', 'https://mesh.example.org'],
    ['https://mesh.example.org:8443/app/', 'wss://mesh.example.org:8443/signal', 'https://mesh.example.org:8443/config.json', 'https://mesh.example.org:8443'],
    ['ws://10.0.0.5:9000/signal', 'ws://10.0.0.5:9000/signal', 'http://10.0.0.5:9000/config.json', 'http://10.0.0.5:9000'],
    ['wss://mesh.example.org/custom/path', 'wss://mesh.example.org/custom/path', 'https://mesh.example.org/config.json', 'https://mesh.example.org'],
    ['localhost:8080', 'ws://localhost:8080/signal', 'http://localhost:8080/config.json', 'http://localhost:8080'],
    ['http://[::1]:8080', 'ws://[::1]:8080/signal', 'http://[::1]:8080/config.json', 'http://[::1]:8080'],
  ])('%s', (given, signalingUrl, configUrl, origin) => {
    expect(signalEndpoints(given)).toEqual({ ok: true, value: { signalingUrl, configUrl, origin } });
  });

  test.each([
    ['ftp://example.org', /ftp:\/\/ is not supported/],
    ['http://user:secret@example.org', /user name or password/],
    ['http://', /not a URL|names no host/],
    ['http://exa mple.org', /not a URL/],
  ])('refuses %s', (given, why) => {
    const result = signalEndpoints(given);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(why);
  });
});

describe('parseNodeArgs', () => {
  test('a full command line', () => {
    const options = run(parseNodeArgs(['--room', 'lab', '--signal', 'http://192.168.1.20:8080', '--data', '/srv/node', '--json'], home));
    expect(options).toEqual({
      room: 'lab',
      signal: { signalingUrl: 'ws://192.168.1.20:8080/signal', configUrl: 'http://192.168.1.20:8080/config.json', origin: 'http://192.168.1.20:8080' },
      signals: [{ signalingUrl: 'ws://192.168.1.20:8080/signal', configUrl: 'http://192.168.1.20:8080/config.json', origin: 'http://192.168.1.20:8080' }],
      signalGiven: 'http://192.168.1.20:8080',
      dataDir: '/srv/node',
      json: true,
      iceServers: null,
      iceTransportPolicy: null,
      password: null,
    });
  });

  test('--name=value works too, and the data dir defaults to the one given by the caller', () => {
    const options = run(parseNodeArgs(['--room=lab', '--signal=ws://h:1/signal'], home));
    expect(options.room).toBe('lab');
    expect(options.signal.signalingUrl).toBe('ws://h:1/signal');
    expect(options.dataDir).toBe(home);
    expect(options.json).toBe(false);
  });

  test('--signal takes several servers of a cluster, comma-separated, for failover', () => {
    const options = run(parseNodeArgs(['--room', 'lab', '--signal', 'http://a:8080, https://b.example.org,ws://c:9/signal,http://a:8080'], home));
    expect((options.signals ?? []).map((s) => s.signalingUrl)).toEqual(['ws://a:8080/signal', 'wss://b.example.org/signal', 'ws://c:9/signal']);
    expect((options.signals ?? []).map((s) => s.origin)).toEqual(['http://a:8080', 'https://b.example.org', 'http://c:9']);
    expect(options.signal).toEqual(options.signals?.[0]);
    expect(parseNodeArgs(['--room', 'lab', '--signal', 'http://a:8080,ftp://b'], home)).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('--signal: ftp:// is not supported'),
    });
    expect(parseNodeArgs(['--room', 'lab', '--signal', ' , '], home)).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('--signal names no server'),
    });
  });

  test('--ice-servers is checked like the server checks it', () => {
    const servers = [{ urls: 'turn:turn.example.org:3478', username: 'u', credential: 'p' }];
    expect(run(parseNodeArgs(['--room', 'a', '--signal', 'h:1', '--ice-servers', JSON.stringify(servers)], home)).iceServers).toEqual(servers);
    expect(run(parseNodeArgs(['--room', 'a', '--signal', 'h:1', '--ice-servers', '[]'], home)).iceServers).toEqual([]);
    expect(refusal(parseNodeArgs(['--room', 'a', '--signal', 'h:1', '--ice-servers', '[{"urls":"http://x"}]'], home))).toMatch(/^--ice-servers: .*stun:/);
    expect(refusal(parseNodeArgs(['--room', 'a', '--signal', 'h:1', '--ice-servers', 'nope'], home))).toMatch(/must be JSON/);
  });

  test('--ice-transport-policy takes all or relay; without it the server decides', () => {
    const base = ['--room', 'a', '--signal', 'h:1'];
    expect(run(parseNodeArgs([...base, '--ice-transport-policy', 'relay'], home)).iceTransportPolicy).toBe('relay');
    expect(run(parseNodeArgs([...base, '--ice-transport-policy=all'], home)).iceTransportPolicy).toBe('all');
    expect(run(parseNodeArgs(base, home)).iceTransportPolicy).toBeNull();
    expect(refusal(parseNodeArgs([...base, '--ice-transport-policy', 'turn'], home))).toMatch(/^--ice-transport-policy: .*'all' or 'relay'/);
  });

  test('help wins wherever it stands', () => {
    expect(parseNodeArgs(['--room', 'a', '--help'], home)).toEqual({ kind: 'help' });
    expect(parseNodeArgs(['-h'], home)).toEqual({ kind: 'help' });
    expect(parseNodeArgs(['--bogus', '-h'], home)).toEqual({ kind: 'error', message: 'unknown option --bogus' });
  });

  test.each([
    [[], /--room is required/],
    [['--signal', 'h:1'], /--room is required/],
    [['--room', 'a'], /--signal is required/],
    [['--room'], /--room needs a value/],
    [['--room', '--signal', 'h:1'], /--room needs a value/],
    [['--room='], /--room needs a value/],
    [['--room', 'a b', '--signal', 'h:1'], /--room: a room name is 1–64 letters/],
    [['--room', 'x'.repeat(65), '--signal', 'h:1'], /--room: a room name/],
    [['--room', 'a', '--room', 'b', '--signal', 'h:1'], /--room is given twice/],
    [['--room', 'a', '--signal', 'gopher://h'], /--signal: gopher:\/\/ is not supported/],
    [['--room', 'a', '--signal', 'h:1', '--port', '8080'], /unknown option --port/],
    [['--room', 'a', '--signal', 'h:1', 'extra'], /unexpected argument "extra"/],
    [['--room', 'a', '--signal', 'h:1', '--json=yes'], /--json takes no value/],
  ])('%j is refused', (argv, why) => {
    expect(refusal(parseNodeArgs(argv, home))).toMatch(why);
  });

  test('the usage names every option', () => {
    for (const flag of ['--room', '--signal', '--data', '--json', '--ice-servers', '--ice-transport-policy', '--help']) expect(nodeUsage).toContain(flag);
  });
});

describe('the real CLI process', () => {
  test('--help prints the usage and exits 0; a bad flag prints it on stderr and exits 2', async () => {
    const help = new NodePeerProcess(['--help'], '');
    const bad = new NodePeerProcess(['--room', 'lab', '--signal', 'http://h:1', '--colour'], '');
    const [helpExit, badExit] = await Promise.all([help.exited, bad.exited]);
    expect(helpExit.code).toBe(0);
    expect(help.badLines.join('\n')).toContain('Usage: tabmesh-node');
    expect(badExit.code).toBe(2);
    expect(bad.stderr.join('')).toMatch(/^tabmesh-node: unknown option --colour\n\nUsage: tabmesh-node/);
    expect(bad.events).toEqual([]);
  }, 30_000);
});
