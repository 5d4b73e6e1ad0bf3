// y-webrtc's own signaling server (y-webrtc/bin/server.js), run as shipped in a child process,
// held to loopback by loopback-listen.mjs. Stopped by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const startTimeoutMs = 10_000;

export interface YjsSignaling {
  url: string;
  stop(): void;
}

export async function startYjsSignaling(): Promise<YjsSignaling> {
  // y-webrtc's exports hide package.json and bin/; its main entry sits in dist/ beside them.
  const require = createRequire(import.meta.url);
  const serverJs = join(dirname(dirname(require.resolve('y-webrtc'))), 'bin', 'server.js');
  const preload = fileURLToPath(new URL('./loopback-listen.mjs', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', preload, serverJs], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('y-webrtc signaling server did not start')), startTimeoutMs);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /LISTENING (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`y-webrtc signaling server exited (${code})`)));
  });
  return { url: `ws://127.0.0.1:${port}`, stop: () => child.kill() };
}
