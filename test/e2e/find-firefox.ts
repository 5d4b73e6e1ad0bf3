// Which Firefox the Firefox test drives: $FIREFOX_PATH, else Debian's firefox-esr. On a Debian
// machine where we are root and it is missing, we install the firefox-esr package, as
// find-chromium.ts does for Chromium. Never skipped: with no Firefox, the test fails and says why.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

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

function canInstallWithApt(): boolean {
  return process.getuid?.() === 0 && existsSync('/usr/bin/apt-get') && existsSync('/etc/debian_version');
}

export function findFirefox(log: (line: string) => void = console.log): string {
  const fromEnv = process.env['FIREFOX_PATH'];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`FIREFOX_PATH is set to ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  if (existsSync(debianFirefox)) return debianFirefox;
  if (!canInstallWithApt()) {
    throw new Error(
      'No Firefox found for the Firefox test. Install Firefox ESR (Debian: `apt-get install firefox-esr`) or set FIREFOX_PATH to its executable.',
    );
  }
  log("No Firefox found: installing Debian's firefox-esr package (apt-get), once…");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'firefox-esr'], { stdio: 'inherit', env });
  if (!existsSync(debianFirefox)) throw new Error(`apt-get installed firefox-esr, but ${debianFirefox} is still missing`);
  return debianFirefox;
}

/** "Mozilla Firefox 153.8.0esr" → for the test's log line, so a failure names the version. */
export function firefoxVersion(executable: string): string {
  return execFileSync(executable, ['--version'], { encoding: 'utf8' }).trim();
}
