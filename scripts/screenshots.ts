import { chromium } from 'playwright-core';
import { createTabmeshServer } from '../signaling/server.ts';
const server = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir: 'dist' });
const { url } = await server.listen();
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--disable-gpu','--allow-loopback-in-peer-connection','--disable-background-networking'] });
const ctx = await browser.newContext({ permissions: ['microphone'], viewport: { width: 1280, height: 720 } });
const pages = [];
for (let i = 0; i < 3; i++) { const p = await ctx.newPage(); await p.goto(url); pages.push(p); }
await pages[0].waitForFunction(() => window.tabmesh?.snapshot()?.links.length === 2 && window.tabmesh.snapshot().links.every(l => l.rttMs !== null));
await pages[1].evaluate(() => window.tabmesh.broadcast('hello from tab 2'));
await pages[0].waitForFunction(() => window.tabmesh.snapshot().messages.length === 1);
await pages[0].screenshot({ path: 'docs/screenshots/links.png' });
const m = await ctx.newPage(); await m.setViewportSize({ width: 390, height: 800 }); await m.goto(url);
await m.waitForFunction(() => window.tabmesh?.snapshot()?.links.length === 3);
await m.screenshot({ path: '/tmp/shot-phone.png', fullPage: true });
await browser.close(); await server.close();
