// A fresh app on the packed package: join the room named in the address, keep the peers and
// what was heard on the `chat` channel in `window.app` (the test reads it), and `window.say(text)`
// says something to every node of the room.
import { joinRoom } from 'tabmesh';

interface AppState {
  id: string;
  peers: string[];
  heard: { from: string; text: string }[];
  error: string | null;
}
const state: AppState = { id: '', peers: [], heard: [], error: null };
const page = window as unknown as { app: AppState; say(text: string): Promise<void> };
page.app = state;

try {
  const room = await joinRoom({ room: new URLSearchParams(location.search).get('room') ?? 'demo' });
  state.id = room.id;
  state.peers = room.peers();
  room.on('peer-join', () => (state.peers = room.peers()));
  room.on('peer-leave', () => (state.peers = room.peers()));
  // The app's chat: a channel of text to every node of the room.
  const chat = room.channel<string>('chat');
  chat.on((text, from) => {
    if (typeof text === 'string') state.heard.push({ from, text });
  });
  page.say = (text) => chat.send(text);
  document.querySelector('#log')!.textContent = `joined as ${room.id}`;
} catch (error) {
  state.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
