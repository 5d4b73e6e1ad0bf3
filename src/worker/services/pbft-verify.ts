// Signature checks for incoming consensus messages. The core trusts every signature it is
// handed (messages.ts: the runtime verifies all of `signaturesToVerify(msg)` first), so this is
// where forged messages stop. The same signatures arrive many times — a prepare is also inside
// every prepared certificate, view change and retransmission — so verified (signer, text, sig)
// triples are remembered in a bounded cache and checked once.
import type { SignatureCheck } from '../../core/pbft/index.ts';
import type { NodeId } from '../../core/types.ts';

/** Verified triples remembered; the least recently used goes first when full. */
export const verifiedCacheEntries = 4_096;
/**
 * Texts longer than this are verified every time instead of cached: they are rare (view
 * changes, state chunks' proofs are small anyway) and would crowd the cache's memory out.
 */
export const maxCachedTextChars = 2_048;
/** Characters of text the cache holds in all; the least recently used go first beyond it (≈ 4 MiB of strings). */
export const maxCachedChars = 2 * 1024 * 1024;

export type VerifyFn = (signer: string, text: string, signature: string) => Promise<boolean>;

export type VerifyOutcome = { ok: true } | { ok: false; signer: NodeId };

export interface VerifierStats {
  /** Signatures checked with the key (cache misses). */
  checked: number;
  /** Signatures found already verified. */
  cacheHits: number;
  /** Signatures that did not verify. */
  failed: number;
  cached: number;
}

export class SignatureVerifier {
  /** Key → its length in characters. */
  private readonly cache = new Map<string, number>();
  private cachedChars = 0;
  private readonly counts = { checked: 0, cacheHits: 0, failed: 0 };

  constructor(
    private readonly verify: VerifyFn,
    private readonly maxEntries = verifiedCacheEntries,
  ) {}

  /** Checks every signature (in parallel); the outcome names a signer whose signature failed. */
  async verifyAll(checks: readonly SignatureCheck[]): Promise<VerifyOutcome> {
    const results = await Promise.all(checks.map((check) => this.verifyOne(check)));
    const bad = results.indexOf(false);
    return bad < 0 ? { ok: true } : { ok: false, signer: (checks[bad] as SignatureCheck).signer };
  }

  /**
   * Remembers a signature this node just made as verified: its own request comes back inside
   * the primary's pre-prepare, and its votes inside certificates, and need no check then.
   */
  remember(signer: NodeId, text: string, sig: string): void {
    if (text.length > maxCachedTextChars) return;
    this.add(`${signer}\n${sig}\n${text}`);
  }

  stats(): VerifierStats {
    return { ...this.counts, cached: this.cache.size };
  }

  private async verifyOne(check: SignatureCheck): Promise<boolean> {
    // The text is part of the key: a valid (signer, sig) pair must not vouch for other text.
    const key = check.bytes.length <= maxCachedTextChars ? `${check.signer}\n${check.sig}\n${check.bytes}` : null;
    if (key !== null && this.cache.has(key)) {
      this.cache.delete(key);
      this.cache.set(key, key.length);
      this.counts.cacheHits++;
      return true;
    }
    this.counts.checked++;
    let ok: boolean;
    try {
      ok = await this.verify(check.signer, check.bytes, check.sig);
    } catch {
      ok = false;
    }
    if (!ok) {
      this.counts.failed++;
      return false;
    }
    if (key !== null) this.add(key);
    return true;
  }

  private add(key: string): void {
    if (this.cache.has(key)) return;
    this.cache.set(key, key.length);
    this.cachedChars += key.length;
    while (this.cache.size > this.maxEntries || this.cachedChars > maxCachedChars) {
      const [oldest, length] = this.cache.entries().next().value as [string, number];
      this.cache.delete(oldest);
      this.cachedChars -= length;
    }
  }
}
