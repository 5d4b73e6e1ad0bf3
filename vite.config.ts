import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { signalingDevPlugin } from './signaling/vite-plugin.ts';

// `npm run dev` serves the app with hot reload; the plugin attaches the signaling server to
// Vite's own HTTP server at /signal, so the page reaches signaling on the same origin as in
// production and nothing else has to be started.
export default defineConfig({
  plugins: [svelte(), signalingDevPlugin()],
  worker: { format: 'es' },
  // Source maps would publish the whole source (megabytes) beside the app; opt in with
  // TABMESH_SOURCEMAP=1 npm run build when debugging a production build.
  build: { target: 'es2022', sourcemap: process.env['TABMESH_SOURCEMAP'] === '1' },
});
