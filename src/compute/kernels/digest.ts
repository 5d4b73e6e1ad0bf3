// The result digest that verified mode compares: SHA-256 over canonical JSON (sorted keys), so
// equal results give equal digests on every node. The stealing core takes it as an injected
// function (`digest` in its options); this is the one the app injects.
import { canonicalJson, type JsonValue } from '../../core/steal/json.ts';
import { sha256Hex } from './sha256.ts';

export function digestResult(result: JsonValue): string {
  return sha256Hex(canonicalJson(result));
}
