// `npm run dev`: Vite's dev server with Tabmesh signaling attached to it (tabmesh/server's
// attachSignaling), so pages find signaling at /signal on their own origin, as in production.
import { defineConfig } from 'vite';
import { attachSignaling } from 'tabmesh/server';

export default defineConfig({
  plugins: [
    {
      name: 'tabmesh-signaling',
      configureServer(server) {
        if (server.httpServer) attachSignaling(server.httpServer as Parameters<typeof attachSignaling>[0]);
      },
    },
  ],
});
