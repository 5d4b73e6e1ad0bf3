// Which candidate pair each of a page's RTCPeerConnections uses, asked of the browser itself
// (getStats): an init script keeps every RTCPeerConnection the page makes, and
// selectedPairTypes reads the selected pair's local and remote candidate types (host, srflx,
// prflx, relay). The TURN test and the NAT lab assert on them.
import type { BrowserContext, Page } from 'playwright-core';

declare global {
  interface Window {
    /** Every RTCPeerConnection the page made (recorded by this test's init script). */
    __peerConnections?: RTCPeerConnection[];
  }
}

/** In the page: the candidate types of the pair each connected RTCPeerConnection uses. */
export async function selectedPairTypes(page: Page): Promise<Array<{ local: string; remote: string; protocol: string; remoteAddress: string }>> {
  return page.evaluate(async () => {
    const pairs: Array<{ local: string; remote: string; protocol: string; remoteAddress: string }> = [];
    for (const pc of window.__peerConnections ?? []) {
      if (pc.connectionState !== 'connected') continue;
      const stats = await pc.getStats();
      const byId = new Map<string, Record<string, unknown>>();
      stats.forEach((report: Record<string, unknown>) => byId.set(report['id'] as string, report));
      let pairId: string | undefined;
      stats.forEach((report: Record<string, unknown>) => {
        if (report['type'] === 'transport' && typeof report['selectedCandidatePairId'] === 'string') pairId = report['selectedCandidatePairId'];
      });
      if (pairId === undefined) {
        stats.forEach((report: Record<string, unknown>) => {
          if (report['type'] === 'candidate-pair' && report['nominated'] === true && report['state'] === 'succeeded') pairId = report['id'] as string;
        });
      }
      const pair = pairId === undefined ? undefined : byId.get(pairId);
      const local = pair ? byId.get(pair['localCandidateId'] as string) : undefined;
      const remote = pair ? byId.get(pair['remoteCandidateId'] as string) : undefined;
      pairs.push({
        local: String(local?.['candidateType'] ?? 'none'),
        remote: String(remote?.['candidateType'] ?? 'none'),
        protocol: String(local?.['protocol'] ?? 'none'),
        remoteAddress: String(remote?.['address'] ?? remote?.['ip'] ?? 'none'),
      });
    }
    return pairs;
  });
}

/** Keeps every RTCPeerConnection a page of `user` makes in window.__peerConnections. */
export async function recordPeerConnections(user: BrowserContext): Promise<void> {
  await user.addInitScript(() => {
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
  });
}
