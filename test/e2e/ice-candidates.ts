// What ICE did in a page, read from the page's own RTCPeerConnections with getStats(), in a form
// both Chromium and Firefox give. The functions below run in the page (they are serialised by
// Playwright's addInitScript / Puppeteer's evaluateOnNewDocument and evaluate), so each must be
// self-contained.

declare global {
  interface Window {
    /** Every RTCPeerConnection the page made (recorded by recordPeerConnectionsInPage). */
    __peerConnections?: RTCPeerConnection[];
  }
}

export interface IceReport {
  /** Every local candidate the page's connected RTCPeerConnections gathered: "type address". */
  localCandidates: string[];
  /** The candidate pair each connected RTCPeerConnection uses. */
  selectedPairs: Array<{ localType: string; localAddress: string; remoteType: string; remoteAddress: string; protocol: string }>;
}

/** Init script: keeps every RTCPeerConnection the page makes in window.__peerConnections. */
export function recordPeerConnectionsInPage(): void {
  const Native = window.RTCPeerConnection;
  const made: RTCPeerConnection[] = [];
  window.__peerConnections = made;
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      made.push(this);
      // Old, closed connections are of no interest and should not pile up.
      if (made.length > 64) made.splice(0, made.length - 64);
    }
  } as typeof RTCPeerConnection;
}

/**
 * In the page: the candidates and selected pair of each connected RTCPeerConnection. Chromium
 * names the pair in its 'transport' report; Firefox has no such report and marks the pair
 * `selected` instead; either way the pair is a nominated, succeeded one.
 */
export async function iceReportInPage(): Promise<IceReport> {
  const report: IceReport = { localCandidates: [], selectedPairs: [] };
  for (const pc of window.__peerConnections ?? []) {
    if (pc.connectionState !== 'connected') continue;
    const byId = new Map<string, Record<string, unknown>>();
    (await pc.getStats()).forEach((stat: Record<string, unknown>) => byId.set(stat['id'] as string, stat));
    const stats = [...byId.values()];
    const address = (c: Record<string, unknown> | undefined) => String(c?.['address'] ?? c?.['ip'] ?? 'none');
    for (const c of stats) if (c['type'] === 'local-candidate') report.localCandidates.push(`${String(c['candidateType'])} ${address(c)}`);
    const transportPick = stats.find((s) => s['type'] === 'transport' && typeof s['selectedCandidatePairId'] === 'string')?.['selectedCandidatePairId'];
    const pair =
      (typeof transportPick === 'string' ? byId.get(transportPick) : undefined) ??
      stats.find((s) => s['type'] === 'candidate-pair' && s['selected'] === true) ??
      stats.find((s) => s['type'] === 'candidate-pair' && s['nominated'] === true && s['state'] === 'succeeded');
    const local = pair ? byId.get(pair['localCandidateId'] as string) : undefined;
    const remote = pair ? byId.get(pair['remoteCandidateId'] as string) : undefined;
    report.selectedPairs.push({
      localType: String(local?.['candidateType'] ?? 'none'),
      localAddress: address(local),
      remoteType: String(remote?.['candidateType'] ?? 'none'),
      remoteAddress: address(remote),
      protocol: String(local?.['protocol'] ?? 'none'),
    });
  }
  return report;
}
