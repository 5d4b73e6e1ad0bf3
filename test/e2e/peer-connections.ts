// Which candidate pair each of a page's RTCPeerConnections uses, for Playwright tests (the TURN
// test and the NAT lab): the in-page recorder and reader of ice-candidates.ts, which the Firefox
// test drives through Puppeteer, wrapped for a Playwright context and page.
import type { BrowserContext, Page } from 'playwright-core';
import { iceReportInPage, recordPeerConnectionsInPage } from './ice-candidates.ts';

export interface SelectedPair {
  /** Candidate types: host, srflx, prflx, relay. */
  local: string;
  remote: string;
  protocol: string;
  remoteAddress: string;
}

/** The candidate types of the pair each connected RTCPeerConnection of `page` uses. */
export async function selectedPairTypes(page: Page): Promise<SelectedPair[]> {
  const report = await page.evaluate(iceReportInPage);
  return report.selectedPairs.map((pair) => ({ local: pair.localType, remote: pair.remoteType, protocol: pair.protocol, remoteAddress: pair.remoteAddress }));
}

/** Keeps every RTCPeerConnection a page of `user` makes in window.__peerConnections. */
export async function recordPeerConnections(user: BrowserContext): Promise<void> {
  await user.addInitScript(recordPeerConnectionsInPage);
}
