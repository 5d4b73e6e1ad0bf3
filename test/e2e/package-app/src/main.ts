// INTERIM (before joinRoom lands): the plumbing check on createMeshNode and the memory.
import { createMeshNode } from 'tabmesh';

const room = new URLSearchParams(location.search).get('room') ?? 'demo';
const state = { id: '', peers: [] as string[], heard: [] as { from: string; text: string }[], error: null as string | null };
const w = window as unknown as { app: typeof state; say(text: string): Promise<void> };
w.app = state;
try {
  const node = await createMeshNode({ room });
  node.subscribe((s) => {
    state.id = s.id;
    state.peers = s.links.map((l) => l.peer);
  });
  node.subscribeMemory((changes) => {
    for (const c of changes) if (c.key.startsWith('hello/') && c.key !== `hello/${state.id}` && typeof c.value === 'string') state.heard.push({ from: c.key.slice(6), text: c.value });
  });
  w.say = async (text) => void (await node.command('setMemory', `hello/${state.id}`, text));
} catch (error) {
  state.error = String(error);
}
