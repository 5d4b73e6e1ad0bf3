// Settings are remembered per tab (sessionStorage: a reload keeps them, a new tab starts from
// the defaults) and re-applied when the page starts again. Page-side only: workers have no
// sessionStorage. What is read back is checked like any other input; a damaged entry is
// dropped with a console warning and the node starts with the defaults.
import { checkSettings, type MeshSettings } from './settings-schema.ts';

/** One key per room: a tab that moves to another room does not carry its settings there. */
export const settingsSessionKey = (room: string): string => `tabmesh:settings:${room}`;

type Command = (name: string, ...args: unknown[]) => Promise<unknown>;

function session(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null; // storage disabled (privacy mode): settings simply are not remembered
  }
}

/** The change remembered for this tab, checked; null if none (or it was damaged and dropped). */
export function rememberedSettings(room: string): Partial<MeshSettings> | null {
  const store = session();
  const raw = store?.getItem(settingsSessionKey(room));
  if (!store || raw == null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const check = checkSettings(parsed);
  if (!check.ok) {
    console.warn(`tabmesh: remembered settings were damaged and are dropped (${check.error})`);
    store.removeItem(settingsSessionKey(room));
    return null;
  }
  return check.value;
}

/** Applies a change through the node and, once it is in force, remembers it with the earlier ones. */
export async function applyAndRemember(command: Command, room: string, change: Partial<MeshSettings>): Promise<MeshSettings> {
  const applied = (await command('setSettings', change)) as MeshSettings;
  const store = session();
  if (store) {
    const merged = { ...(rememberedSettings(room) ?? {}), ...change };
    try {
      store.setItem(settingsSessionKey(room), JSON.stringify(merged));
    } catch {
      // quota or disabled storage: the settings apply, they are only not remembered
    }
  }
  return applied;
}

/** Re-applies what this tab remembered (after a reload); a refusal is reported, not thrown. */
export async function restoreSettings(command: Command, room: string): Promise<MeshSettings | null> {
  const remembered = rememberedSettings(room);
  if (!remembered || Object.keys(remembered).length === 0) return null;
  try {
    return (await command('setSettings', remembered)) as MeshSettings;
  } catch (error) {
    console.warn(`tabmesh: remembered settings not applied: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}
