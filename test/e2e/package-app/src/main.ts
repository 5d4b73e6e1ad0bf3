// A fresh app on the packed package: join the room named in the address, keep the peers and
// what was heard in `window.app` (the test reads it), and `window.say(text)` says something.
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
  // Each node says things under its own key of the replicated memory: hello/<id>.
  room.memory.on('change', ({ key, value }) => {
    if (key.startsWith('hello/') && key !== `hello/${room.id}` && typeof value === 'string') state.heard.push({ from: key.slice('hello/'.length), text: value });
  });
  page.say = (text) => room.memory.set(`hello/${room.id}`, text);
  document.querySelector('#log')!.textContent = `joined as ${room.id}`;
} catch (error) {
  state.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
