// Which Firefox the Firefox test drives: $FIREFOX_PATH, else Debian's firefox-esr. On a Debian
// machine where we are root and it is missing, we install the firefox-esr package, as
// find-chromium.ts does for Chromium. Never skipped: with no Firefox, the test fails and says why.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureDebianProgram } from '../support/debian-package.ts';

const debianFirefox = '/usr/bin/firefox-esr';

/**
 * Preferences for every Firefox we start. The first four let WebRTC link tabs over loopback, the
 * only network the tests have; the last two keep background tabs' timers honest. (Puppeteer's
 * profile already turns off updates, telemetry and safe browsing.)
 */
export const firefoxPrefs: Record<string, string | number | boolean> = {
  // Gather host candidates on 127.0.0.1 and ::1 (Firefox leaves loopback out by default).
  // Without it no Firefox tab links (tried: the link wait times out).
  'media.peerconnection.ice.loopback': true,
  // With a microphone grant Firefox offers every interface's address; without it only the
  // default route's, and a loopback-only namespace has no default route. Also required (tried).
  'permissions.default.microphone': 1,
  // Real host addresses instead of mDNS names, which cannot resolve without multicast. The
  // microphone grant already turns the obfuscation off (tried); kept so that does not matter.
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // No permission prompt, which a headless browser could not answer.
  'media.navigator.permission.disabled': true,
  // Background tabs keep honest timers (as chromiumArgs' --disable-background-timer-throttling).
  'dom.min_background_timeout_value': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
};

export function findFirefox(log: (line: string) => void = console.log): string {
  const fromEnv = process.env['FIREFOX_PATH'];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`FIREFOX_PATH is set to ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  return ensureDebianProgram(
    { executable: debianFirefox, debianPackage: 'firefox-esr', neededBy: 'The Firefox test', orElse: 'set FIREFOX_PATH to a Firefox' },
    log,
  );
}

/** "Mozilla Firefox 153.8.0esr" → for the test's log line, so a failure names the version. */
export function firefoxVersion(executable: string): string {
  return execFileSync(executable, ['--version'], { encoding: 'utf8' }).trim();
}
