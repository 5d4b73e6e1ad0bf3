// Test helpers for what a user of the published package does: `npm pack` this repository, install
// the tarball into a fresh app in a temporary folder (with npm, from the registry or npm's
// cache), build that app, and serve it with `tabmesh/server` from the tarball in its own Node
// process. Every step that fails says which step and shows the tool's output.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { Page } from 'playwright-core';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Runs a command to completion; a failure names the step and carries the command's output. */
export function run(step: string, command: string, args: readonly string[], cwd: string, timeoutMs = 240_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(
              `${step} failed (${command} ${args.join(' ')} in ${cwd}): ${error.message}\n--- stdout\n${stdout.slice(-4000)}\n--- stderr\n${stderr.slice(-4000)}`,
            ),
          );
        else resolve(stdout);
      },
    );
  });
}

/** `npm pack` of this repository (its prepack script builds lib/): the tarball's absolute path. */
export async function packRepository(destination: string): Promise<string> {
  mkdirSync(destination, { recursive: true });
  const out = await run('npm pack', 'npm', ['pack', '--json', '--pack-destination', destination], repoRoot);
  const parsed = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  const packed = parsed[0];
  if (!packed) throw new Error(`npm pack printed no package: ${out}`);
  return join(destination, packed.filename);
}

/** The exact versions this repository builds with (already in npm's cache after its own install). */
export function repoVersionOf(name: string): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * A fresh app folder: `template`'s files, its package.json (if it has one; else a new one) with
 * `tabmesh` pointing at the tarball and `devDependencies` (name → version) added. Installed with
 * npm, preferring npm's cache.
 */
export async function installApp(
  template: string,
  tarball: string,
  devDependencies: Record<string, string> = {},
  name = 'tabmesh-packed-app',
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  cpSync(template, dir, { recursive: true, filter: (source) => !/[/\\](node_modules|dist[^/\\]*|package-lock\.json|tabmesh\.tgz)$/.test(source) });
  const manifestPath = join(dir, 'package.json');
  const manifest = (existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : { name, private: true, type: 'module' }) as Record<
    string,
    Record<string, string> | unknown
  >;
  manifest['dependencies'] = { ...(manifest['dependencies'] as Record<string, string> | undefined), tabmesh: `file:${tarball}` };
  manifest['devDependencies'] = { ...(manifest['devDependencies'] as Record<string, string> | undefined), ...devDependencies };
  // No `overrides`: tabmesh depends on node-datachannel ^0.33 directly (binaries as npm
  // packages), so a consumer's plain `npm install` must work; this install checks that.
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  await run('npm install of the packed tarball', 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error'], dir);
  return dir;
}

/** A child process running a Node script of the app; it prints one JSON line first (e.g. `{ url }`). */
export interface AppProcess {
  child: ChildProcess;
  /** The first JSON line the script printed. */
  first: Record<string, unknown>;
  /** Every line printed so far (stdout and stderr), for failure messages. */
  lines: string[];
  /** Waits until a printed JSON line satisfies `predicate`; the error shows the output. */
  waitForLine(predicate: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Starts `node script ...args` in the app folder and waits for its first JSON line. */
export async function startAppProcess(dir: string, script: string, args: readonly string[], timeoutMs = 60_000): Promise<AppProcess> {
  const child = spawn(process.execPath, [script, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const json: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const take = (line: string) => {
    lines.push(line);
    if (lines.length > 500) lines.shift();
    if (line.startsWith('{')) {
      try {
        json.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not JSON after all: kept in `lines` for the failure message.
      }
    }
    for (const wake of waiters) wake();
  };
  createInterface({ input: child.stdout! }).on('line', take);
  createInterface({ input: child.stderr! }).on('line', (line) => take(`[stderr] ${line}`));
  let exited: string | null = null;
  child.on('exit', (code, signal) => {
    exited = `exited (code ${code}, signal ${signal})`;
    for (const wake of waiters) wake();
  });
  const waitForLine = (predicate: (line: Record<string, unknown>) => boolean, what: string, ms = 60_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = json.find(predicate);
        if (found) return finish(() => resolve(found));
        if (exited) return finish(() => reject(new Error(`${script} ${exited} before: ${what}\n${lines.join('\n')}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${ms} ms waiting for ${script}: ${what}\n${lines.join('\n')}`))), ms);
      const finish = (then: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        then();
      };
      waiters.add(check);
      check();
    });
  const first = await waitForLine(() => true, 'its first JSON line', timeoutMs);
  return {
    child,
    first,
    lines,
    waitForLine,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Waits until `predicate(state)` holds for the page's `window.app` (what the app under test
 * publishes for the test); the error names the condition and shows the last state.
 */
export async function waitForApp<T>(page: Page, predicate: (state: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = (await page.evaluate(() => (window as unknown as { app?: unknown }).app ?? null).catch(() => null)) as T | null;
    if (state !== null && predicate(state)) return state;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}\nlast window.app: ${JSON.stringify(state, null, 2)}`);
    await page.waitForTimeout(100);
  }
}
