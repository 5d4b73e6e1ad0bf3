// Which stored consensus records a restarting replica can use. The core skips a record that
// does not decode (and counts it); checking first lets the service set such a record aside
// (src/store/set-aside.ts) with its reason, so it is reported once, kept for a person to look
// at, and the core starts from what is sound (catching up the rest from the other replicas).
import { parseJson } from '../../core/decode.ts';
import {
  decodeEpochRecord,
  decodeMeta,
  decodeNewViewRecord,
  decodeSlot,
  decodeStable,
  decodeViewChangeRecord,
  epochKey,
  isEpochKey,
  isSlotKey,
  metaKey,
  newViewKey,
  slotKey,
  stableKey,
  viewChangeKey,
} from '../../core/pbft/persistence.ts';
import { decodeSnapshot } from '../../core/pbft/state-machine.ts';
import { sha256Hex } from '../../compute/kernels/sha256.ts';

/** Why the record under `key` (one of the core's `pbft/` keys) cannot be used, or null if it can. */
export function checkPbftRecord(key: string, raw: unknown): string | null {
  if (key === metaKey) return problem(decodeMeta(raw));
  if (key === viewChangeKey) return problem(decodeViewChangeRecord(raw));
  if (key === newViewKey) return problem(decodeNewViewRecord(raw));
  if (isSlotKey(key)) {
    const slot = decodeSlot(raw);
    if (!slot.ok) return slot.error;
    return slotKey(slot.value.seq) === key ? null : `holds sequence number ${slot.value.seq}, not the one of its key`;
  }
  if (isEpochKey(key)) {
    const record = decodeEpochRecord(raw);
    if (!record.ok) return record.error;
    return epochKey(record.value.epoch) === key ? null : `holds epoch ${record.value.epoch}, not the one of its key`;
  }
  if (key === stableKey) {
    const stable = decodeStable(raw);
    if (!stable.ok) return stable.error;
    const parsed = parseJson(stable.value.text);
    if (!parsed.ok) return `checkpoint state: ${parsed.error}`;
    const state = decodeSnapshot(parsed.value);
    if (!state.ok) return `checkpoint state: ${state.error}`;
    if (state.value.seq !== stable.value.seq) return 'checkpoint state is of another sequence number';
    if (sha256Hex(stable.value.text) !== stable.value.stateDigest) return 'checkpoint state does not match its digest';
    return null;
  }
  // Keys the core does not read are left alone.
  return null;
}

const problem = (decoded: { ok: true } | { ok: false; error: string }): string | null => (decoded.ok ? null : decoded.error);
