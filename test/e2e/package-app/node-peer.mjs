// A Node peer from `tabmesh/node` (the installed tarball) joining the test's room with the same
// joinRoom as a page: prints `{"id": …}` once joined, then `{"heard": [...]}` each time it hears
// something on the `chat` channel. Arguments: the signaling URL (ws://host:port/signal) and the room.
import { joinRoom } from 'tabmesh/node';

const [signalingUrl, room] = process.argv.slice(2);
const joined = await joinRoom({ room, signaling: signalingUrl });
const heard = [];
joined.channel('chat').on((text, from) => {
  heard.push({ from, text });
  console.log(JSON.stringify({ heard }));
});
console.log(JSON.stringify({ id: joined.id }));
process.on('SIGTERM', () => void joined.leave().then(() => process.exit(0)));
