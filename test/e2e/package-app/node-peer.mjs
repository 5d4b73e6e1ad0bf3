// A Node peer from `tabmesh/node` (the installed tarball) joining the test's room: prints
// `{"id": …}` once it has its identity, then `{"heard": [...]}` each time it hears a new hello
// in the replicated memory. Arguments: the signaling URL (ws://host:port/signal) and the room.
// INTERIM: on the Node peer's own entry (startNodePeer) until tabmesh/node has joinRoom.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodePeer } from 'tabmesh/node';

const [signalingUrl, room] = process.argv.slice(2);
const http = new URL(signalingUrl.replace(/^ws/, 'http'));
const signal = { signalingUrl, configUrl: new URL('/config.json', http).href, origin: http.origin };
const heard = new Map();
let started = false;
const printHeard = () => console.log(JSON.stringify({ heard: [...heard].map(([key, text]) => ({ from: key.slice('hello/'.length), text })) }));
const peer = await startNodePeer(
  { room, signal, signalGiven: signalingUrl, dataDir: mkdtempSync(join(tmpdir(), 'tabmesh-node-peer-')), json: true, iceServers: null, password: null },
  (event) => {
    if (event.event === 'memory-set' && event.key.startsWith('hello/') && !heard.has(event.key)) {
      heard.set(event.key, event.value);
      if (started) printHeard();
    }
  },
);
console.log(JSON.stringify({ id: peer.id }));
started = true;
if (heard.size > 0) printHeard();
process.on('SIGTERM', () => void peer.stop('SIGTERM').then(() => process.exit(0)));
