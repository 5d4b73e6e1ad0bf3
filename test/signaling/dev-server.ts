// Test helper: a Vite dev server with Tabmesh's signaling plugin on 127.0.0.1 and a free port,
// serving a scratch directory, without Vite's dependency scan (no test needs it).
import type { AddressInfo } from 'node:net';
import { createServer, type InlineConfig, type Plugin, type ViteDevServer } from 'vite';
import { signalingDevPlugin } from '../../signaling/vite-plugin.ts';

/** The config: `plugin` (default: signalingDevPlugin(), which reads process.env) serving `root`; `server` adds options. */
export function devServerConfig(root: string, plugin: Plugin = signalingDevPlugin(), server: InlineConfig['server'] = {}): InlineConfig {
  return {
    configFile: false,
    root,
    logLevel: 'silent',
    plugins: [plugin],
    server: { port: 0, host: '127.0.0.1', strictPort: false, ...server },
    optimizeDeps: { noDiscovery: true, include: [] },
  };
}

/** Starts that server; resolves once it listens, with its port. */
export async function startDevServer(root: string, plugin?: Plugin, server?: InlineConfig['server']): Promise<{ vite: ViteDevServer; port: number }> {
  const vite = await createServer(devServerConfig(root, plugin, server));
  await vite.listen();
  return { vite, port: (vite.httpServer?.address() as AddressInfo).port };
}
