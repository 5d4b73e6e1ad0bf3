// The settings a person may change while the node runs (the Settings panel, window.tabmesh
// .setSettings) and their ranges. Pure and shared: the form refuses out-of-range values with
// these messages before sending, and the settings service checks again (the page is a boundary).
import { byzantineModes, isByzantineMode, maxBatchRequestsOnWire, type ByzantineMode } from '../../core/pbft/index.ts';

export interface MeshSettings {
  /** Gossip: peers reconciled with per cycle. */
  fanout: number;
  /** Gossip: period of the anti-entropy cycle. */
  gossipCycleMs: number;
  /** Overlay: direct links this node keeps (at least / at most). */
  minLinks: number;
  maxLinks: number;
  /**
   * Consensus: most requests this node puts in one pre-prepare while it is primary. A local
   * policy, not part of agreement: every replica accepts any batch up to the wire ceiling
   * (maxBatchRequestsOnWire) within the room's character limit, so one tab may change it alone.
   */
  batchSize: number;
  /** Consensus: this replica's misbehaviour for the demo, or null (honest). */
  byzantine: ByzantineMode | null;
}

/** Ranges offered to people (tighter than the cores' own limits: values that keep a demo sane). */
export const settingRanges = {
  fanout: { min: 1, max: 8 },
  gossipCycleMs: { min: 250, max: 10_000 },
  minLinks: { min: 1, max: 8 },
  maxLinks: { min: 1, max: 12 },
  batchSize: { min: 1, max: maxBatchRequestsOnWire },
} as const;

type NumericSetting = keyof typeof settingRanges;

export const settingLabels: Record<keyof MeshSettings, string> = {
  fanout: 'Gossip fanout',
  gossipCycleMs: 'Gossip cycle (ms)',
  minLinks: 'Fewest links',
  maxLinks: 'Most links',
  batchSize: 'Batch size',
  byzantine: 'Byzantine mode',
};

export type SettingsCheck = { ok: true; value: Partial<MeshSettings> } | { ok: false; error: string };

/**
 * Checks a partial change against the ranges (and, for links, against the settings it will be
 * merged with: min ≤ max). Unknown keys are refused: a typo should not silently do nothing.
 */
export function checkSettings(raw: unknown, current?: MeshSettings): SettingsCheck {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: 'settings must be an object, e.g. { fanout: 4 }' };
  const value: Partial<MeshSettings> = {};
  for (const [key, v] of Object.entries(raw)) {
    if (key === 'byzantine') {
      if (v !== null && !isByzantineMode(v)) return { ok: false, error: `byzantine must be null (honest) or one of ${byzantineModes.join(', ')}` };
      value.byzantine = v;
    } else if (Object.hasOwn(settingRanges, key)) {
      const range = settingRanges[key as NumericSetting];
      const label = settingLabels[key as NumericSetting];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < range.min || v > range.max) {
        return { ok: false, error: `${label} must be a whole number from ${range.min} to ${range.max} (got ${JSON.stringify(v) ?? String(v)})` };
      }
      value[key as NumericSetting] = v;
    } else {
      return { ok: false, error: `unknown setting "${key}"; settings are ${Object.keys(settingLabels).join(', ')}` };
    }
  }
  const min = value.minLinks ?? current?.minLinks;
  const max = value.maxLinks ?? current?.maxLinks;
  if (min !== undefined && max !== undefined && min > max) return { ok: false, error: `Fewest links (${min}) must not exceed most links (${max})` };
  return { ok: true, value };
}
