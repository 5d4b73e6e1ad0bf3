// Defence in depth: the page checks the browser before it starts the protocol worker
// (src/capability-probes.ts), but a page that skipped or fooled that check must still get a
// plain refusal from the worker, with a code that tells the supervisor not to restart it —
// restarting cannot make a browser grow a feature. Only what the worker itself needs is
// checked here: a secure context and Ed25519 in WebCrypto (one key and two signatures: cheap).
import type { CapabilityCode } from '../capabilities.ts';
import { probeEd25519 } from '../crypto/ed25519-probe.ts';

export interface WorkerRefusal {
  code: CapabilityCode;
  message: string;
}

/** The slice of the worker's global scope looked at. */
export interface WorkerScopeView {
  isSecureContext?: boolean;
  crypto?: { subtle?: SubtleCrypto };
}

export async function workerCapabilityRefusal(scope: WorkerScopeView): Promise<WorkerRefusal | null> {
  const ed25519 = await probeEd25519(scope.crypto?.subtle);
  if (ed25519.ok) return null;
  if (scope.isSecureContext !== true) {
    return {
      code: 'insecure-context',
      message: `this page is not a secure context, so the protocol worker has no WebCrypto (${ed25519.detail}); open it from its https:// address`,
    };
  }
  return {
    code: 'no-ed25519',
    message: `this browser cannot sign with Ed25519 (${ed25519.detail}); update it (Chrome or Edge 137+, Firefox 129+, Safari 17+)`,
  };
}
