// A node may be given several signaling servers (members of one cluster, docs/deployment.md):
// it uses the first and, when a connection closes or is refused, moves on to the next with the
// signaling client's backoff (signaling-client.ts). This file turns what a person or an app
// gives — one URL, a list, `?signal=` repeated or comma-separated — into that list.

/** The most signaling URLs a node takes (a typo should not become a long list). */
export const maxSignalingUrls = 16;

/** One URL or a list, split on commas, trimmed, without blanks or repeats, at most maxSignalingUrls. */
export function signalingUrlList(given: string | readonly string[]): string[] {
  const items = (typeof given === 'string' ? [given] : given).flatMap((item) => item.split(',')).map((item) => item.trim());
  return [...new Set(items.filter((item) => item !== ''))].slice(0, maxSignalingUrls);
}

/** The page's `?signal=` values (repeated, or comma-separated in one). */
export function signalingUrlsFromQuery(params: URLSearchParams): string[] {
  return signalingUrlList(params.getAll('signal'));
}
