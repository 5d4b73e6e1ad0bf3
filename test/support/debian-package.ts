// What the tests need from Debian (chromium, firefox-esr, coturn, redis-server, nftables, iproute2):
// installed with apt-get when missing and we may (root on Debian, as CI is), so `npm install &&
// npm test` works on a fresh machine; elsewhere a clear failure that says what to install.
// Never a skip.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function canInstallWithApt(): boolean {
  return process.getuid?.() === 0 && existsSync('/usr/bin/apt-get') && existsSync('/etc/debian_version');
}

export interface DebianProgram {
  /** The program the package installs, e.g. /usr/bin/turnserver. */
  executable: string;
  /** The Debian package that has it, e.g. coturn. */
  debianPackage: string;
  /** Who needs it, for the failure: "The TURN test", "The NAT lab". */
  neededBy: string;
  /** Install the package's recommended packages too (a browser wants its fonts). Default false. */
  withRecommends?: boolean;
  /** Another way to provide it (an environment variable), named in the failure. */
  orElse?: string;
}

/** `program.executable`, installed with apt-get if it is missing and we may. */
export function ensureDebianProgram(program: DebianProgram, log: (line: string) => void = console.log): string {
  const { executable, debianPackage } = program;
  if (existsSync(executable)) return executable;
  if (!canInstallWithApt()) {
    const orElse = program.orElse ? ` or ${program.orElse}` : '';
    throw new Error(`${program.neededBy} needs ${executable}. Install it (Debian: \`apt-get install ${debianPackage}\`)${orElse} and run again.`);
  }
  log(`No ${executable} found: installing Debian's ${debianPackage} package (apt-get), once…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...(program.withRecommends ? [] : ['--no-install-recommends']), debianPackage], { stdio: 'inherit', env });
  if (!existsSync(executable)) throw new Error(`apt-get installed ${debianPackage}, but ${executable} is still missing`);
  return executable;
}
