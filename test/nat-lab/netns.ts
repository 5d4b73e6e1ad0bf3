// The NAT lab's network: Linux network namespaces joined by veth pairs, with nftables NAT on the
// home routers. Every address lives inside namespaces made here; nothing reaches this machine's
// own interfaces.
//
//   pub (198.51.100.10: signaling server, coturn)
//    │ 198.51.100.0/24
//   net ("the internet": routes between the two /24s below)
//    │ 203.0.113.0/24 (bridge)
//   ├─ rtrA (203.0.113.11 outside, NAT) ── 10.0.1.0/24 ── homeA (10.0.1.10)
//   └─ rtrB (203.0.113.12 outside, NAT) ── 192.168.2.0/24 ── homeB (192.168.2.10)
//
// Namespaces are named `tmnat-<pid>-<role>`, so a run finds (and removes) what an earlier run
// left when its process died without cleaning up. Interface names are per namespace.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureDebianProgram } from '../support/debian-package.ts';

export const namespacePrefix = 'tmnat-';

/** How a home router maps its inside to its outside address. */
export type NatKind =
  /** Endpoint-independent mapping (port kept), new inbound dropped: hole punching works. */
  | 'cone'
  /** A random outside port per destination (`masquerade random`): STUN's answer is useless to peers. */
  | 'symmetric';

export interface Home {
  name: 'A' | 'B';
  /** The namespace the home's devices (Node peers, Chromium) run in. */
  ns: string;
  router: string;
  address: string;
  routerOutside: string;
}

export interface Lab {
  /** The public namespace: signaling server and coturn. */
  pub: string;
  pubAddress: string;
  internet: string;
  homes: { A: Home; B: Home };
  /** Every namespace, in the order they were made. */
  all: string[];
  setNat(home: Home, kind: NatKind): void;
  /** Removes every namespace of this lab (processes inside must have been stopped first). */
  destroy(): void;
}

export const pubAddress = '198.51.100.10';

function run(command: string, args: string[], input?: string): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input === undefined ? {} : { input }) });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}

const ipIn = (ns: string, ...args: string[]) => run('ip', ['-n', ns, ...args]);
const execIn = (ns: string, command: string, ...args: string[]) => run('ip', ['netns', 'exec', ns, command, ...args]);

function ensureTool(executable: string, debianPackage: string): void {
  ensureDebianProgram({ executable, debianPackage, neededBy: 'The NAT lab' });
}

/** iproute2 (`ip netns`, veth) and nftables, installed with apt-get when missing (root on Debian). */
export function ensureLabTools(): void {
  ensureTool('/usr/sbin/ip', 'iproute2');
  ensureTool('/usr/sbin/nft', 'nftables');
}

/** Fails, saying what is missing, when this process cannot make network namespaces. */
export function checkCanMakeNamespaces(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `The NAT lab makes network namespaces, veth pairs and nftables rules, which needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN); this process runs as uid ${process.getuid?.()}. Run the e2e tests as root (CI does).`,
    );
  }
  ensureLabTools();
  const probe = `${namespacePrefix}${process.pid}-probe`;
  try {
    run('ip', ['netns', 'add', probe]);
  } catch (error) {
    throw new Error(
      `The NAT lab cannot make a network namespace (\`ip netns add\`): ${(error as Error).message}. It needs root with CAP_SYS_ADMIN and CAP_NET_ADMIN, outside a container that forbids them (docker: --privileged or --cap-add SYS_ADMIN,NET_ADMIN).`,
      { cause: error },
    );
  }
  run('ip', ['netns', 'delete', probe]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function listNamespaces(): string[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

/**
 * Removes namespaces an earlier lab run left (same prefix, a pid that no longer runs). The
 * processes still inside them were started by that run (coturn, a server, peers): they are
 * stopped by pid first, since a namespace lives on while a process holds it.
 */
export function removeStaleNamespaces(log: (line: string) => void = console.log): string[] {
  const removed: string[] = [];
  for (const name of listNamespaces()) {
    const match = new RegExp(`^${namespacePrefix}(\\d+)-`).exec(name);
    if (!match || isAlive(Number(match[1]))) continue;
    for (const pid of run('ip', ['netns', 'pids', name]).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    run('ip', ['netns', 'delete', name]);
    removed.push(name);
  }
  if (removed.length > 0) log(`NAT lab: removed ${removed.length} namespaces an earlier run left behind: ${removed.join(', ')}`);
  return removed;
}

/** A veth pair between two namespaces, with an address on each end (or none, for a bridge port). */
function link(a: string, aIf: string, b: string, bIf: string): void {
  ipIn(a, 'link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b);
  ipIn(a, 'link', 'set', aIf, 'up');
  ipIn(b, 'link', 'set', bIf, 'up');
}

function addNamespace(name: string, made: string[]): void {
  run('ip', ['netns', 'add', name]);
  made.push(name);
  ipIn(name, 'link', 'set', 'lo', 'up');
}

/**
 * nftables for a home router: NAT on the outside interface `out`, and new inbound packets on it
 * dropped in an input-hook chain. The drop matters: an early check from the far peer that
 * reaches the router before the home has sent to that peer would otherwise get a conntrack
 * entry of its own (the router itself as destination), which takes the outside port the home's
 * own mapping needs; masquerade then picks another port and the cone NAT behaves as a symmetric
 * one for that peer. Dropped in input, the entry is never confirmed and the port stays free.
 */
export function natRules(kind: NatKind): string {
  return `table ip tmnat
delete table ip tmnat
table ip tmnat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "out" masquerade${kind === 'symmetric' ? ' random' : ''}
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "out" ct state new drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "out" ct state new drop
  }
}
`;
}

/** Builds the lab (after removing stale ones). On failure, whatever was made is removed again. */
export function createLab(): Lab {
  checkCanMakeNamespaces();
  removeStaleNamespaces();
  const base = `${namespacePrefix}${process.pid}`;
  const made: string[] = [];
  const destroy = () => {
    for (const ns of [...made].reverse()) {
      try {
        run('ip', ['netns', 'delete', ns]);
      } catch {
        // Already gone.
      }
    }
    made.length = 0;
  };
  try {
    const pub = `${base}-pub`;
    const internet = `${base}-net`;
    addNamespace(internet, made);
    addNamespace(pub, made);
    execIn(internet, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
    // The public server's segment.
    link(internet, 'pub', pub, 'eth0');
    ipIn(internet, 'addr', 'add', '198.51.100.1/24', 'dev', 'pub');
    ipIn(pub, 'addr', 'add', `${pubAddress}/24`, 'dev', 'eth0');
    ipIn(pub, 'route', 'add', 'default', 'via', '198.51.100.1');
    // The routers' segment: a bridge, as an ISP's access network.
    ipIn(internet, 'link', 'add', 'br0', 'type', 'bridge');
    ipIn(internet, 'link', 'set', 'br0', 'up');
    ipIn(internet, 'addr', 'add', '203.0.113.1/24', 'dev', 'br0');
    const homes = {} as Lab['homes'];
    const plan = [
      { name: 'A' as const, outside: '203.0.113.11', inside: '10.0.1', prefix: 24 },
      { name: 'B' as const, outside: '203.0.113.12', inside: '192.168.2', prefix: 24 },
    ];
    for (const { name, outside, inside, prefix } of plan) {
      const router = `${base}-rtr${name}`;
      const home = `${base}-home${name}`;
      addNamespace(router, made);
      addNamespace(home, made);
      execIn(router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
      link(internet, `to${name}`, router, 'out');
      ipIn(internet, 'link', 'set', `to${name}`, 'master', 'br0');
      ipIn(router, 'addr', 'add', `${outside}/24`, 'dev', 'out');
      ipIn(router, 'route', 'add', 'default', 'via', '203.0.113.1');
      link(router, 'in', home, 'eth0');
      ipIn(router, 'addr', 'add', `${inside}.1/${prefix}`, 'dev', 'in');
      ipIn(home, 'addr', 'add', `${inside}.10/${prefix}`, 'dev', 'eth0');
      ipIn(home, 'route', 'add', 'default', 'via', `${inside}.1`);
      homes[name] = { name, ns: home, router, address: `${inside}.10`, routerOutside: outside };
    }
    const setNat = (home: Home, kind: NatKind) => {
      run('ip', ['netns', 'exec', home.router, 'nft', '-f', '-'], natRules(kind));
      // Mappings of the previous case must not decide this one.
      flushConntrack(home.router);
    };
    for (const home of Object.values(homes)) setNat(home, 'cone');
    return { pub, pubAddress, internet, homes, all: [...made], setNat, destroy };
  } catch (error) {
    destroy();
    throw error;
  }
}

/**
 * Forgets a router's NAT mappings when the conntrack tool is there. Without it the lab relies on
 * fresh ports: every case starts new peers (new sockets), so an old mapping decides nothing.
 */
function flushConntrack(router: string): void {
  if (existsSync('/usr/sbin/conntrack')) run('ip', ['netns', 'exec', router, 'conntrack', '-F']);
}
