// The link phones open to join the demo's room as nodes the demo screen may fault: the room and
// `controller=<this screen's node id>`. Other devices need HTTPS and this machine's LAN address,
// which a page on localhost cannot know: both come from the server's /config.json (lanUrls), as
// for the dashboard's welcome card (src/ui/components/WelcomeCard.svelte). Pure.
import { controllerParam } from './control.ts';

const loopbackHosts = ['localhost', '127.0.0.1', '[::1]'];

export function joinLink(
  page: { href: string; hostname: string; protocol: string },
  lanUrls: readonly string[],
  room: string,
  controller: string | null,
): string {
  const onLoopback = loopbackHosts.includes(page.hostname) || page.hostname.endsWith('.localhost');
  const serverHasTls = lanUrls.some((url) => url.startsWith('https:'));
  let base = page.href;
  if (onLoopback) base = lanUrls[0] ?? page.href;
  else if (page.protocol === 'http:' && serverHasTls) base = `https:${page.href.slice('http:'.length)}`;
  const url = new URL(base);
  // The dashboard, not the demo view: a phone becomes a node people can watch on the screen.
  url.searchParams.delete('view');
  url.searchParams.set('room', room);
  if (controller !== null) url.searchParams.set(controllerParam, controller);
  else url.searchParams.delete(controllerParam);
  return url.href;
}
