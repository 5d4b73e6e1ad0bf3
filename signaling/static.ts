// Serves the built app (Vite's dist/) with a fallback to index.html for client-side routes,
// and, until the app has been built, a page that says how to build it instead of a bare 404.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sirv from 'sirv';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Vite puts content-hashed files here: a name never changes meaning, so they cache forever. */
const hashedAssetsPrefix = '/assets/';
const oneYearS = 365 * 24 * 60 * 60;

export function createStaticHandler(dir: string): RequestHandler {
  const root = resolve(dir);
  const indexFile = join(root, 'index.html');
  let serve: RequestHandler | null = null;

  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Only GET and HEAD are served here.\n');
      return;
    }
    // Checked per request until found, so building while the server runs needs no restart.
    if (!serve) {
      if (!existsSync(indexFile)) return notBuilt(res, root);
      serve = createSirv(root);
    }
    serve(req, res);
  };
}

function createSirv(root: string): RequestHandler {
  // dev mode looks files up on disk per request instead of listing them once at start, so a
  // rebuild under a running server (new hashed names) is picked up.
  const handler = sirv(root, {
    dev: true,
    etag: true,
    single: true,
    setHeaders: (res, pathname) => {
      if (pathname.startsWith(hashedAssetsPrefix)) {
        res.setHeader('Cache-Control', `public, max-age=${oneYearS}, immutable`);
      }
    },
    onNoMatch: (_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Not found.\n');
    },
  });
  return (req, res) => handler(req, res);
}

function notBuilt(res: ServerResponse, root: string): void {
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tabmesh: app not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The app has not been built yet</h1>
<p>This server serves the built app from <code>${escapeHtml(root)}</code>, which has no <code>index.html</code>.</p>
<p>Run <code>npm run build</code> first (or <code>npm start</code>, which builds and then serves), then reload this page.
For development with hot reload, run <code>npm run dev</code> instead.</p>
<p>Signaling at <code>/signal</code> and <code>/healthz</code> work meanwhile.</p>
</body></html>
`;
  res.writeHead(503, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Retry-After': '10',
  });
  res.end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
