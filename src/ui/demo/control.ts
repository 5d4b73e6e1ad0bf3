// A tab's side of demo control: the person who opened this tab from the demo's join link (its
// URL carries `controller=<the demo tab's node id>`) accepts that one node's fault clicks. The
// worker checks every fault (src/worker/services/demo.ts: from that node, recent, once); this
// page carries the accepted ones out with the node's own commands and says so on screen, so the
// person holding the tab always sees what was done to it. docs/security.md, "Demo control".
import * as v from 'valibot';
import { decodeWith } from '../../core/decode.ts';
import type { NodeBackend } from '../../api/backend.ts';
import { demoFaultEventSchema, type DemoFaultEvent } from '../../worker/services/demo-messages.ts';

/** The URL parameter naming the node whose demo faults this tab accepts. */
export const controllerParam = 'controller';
/** A demo partition lasts this long unless "bring back" ends it sooner. */
export const partitionMs = 120_000;
/** A demo sleep: long enough for the others to notice (4 s of silence), short of the worker watchdog. */
export const sleepMs = 8_000;

const controllerSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/));

/** Carries out one accepted fault with this node's own commands. */
export async function carryOut(node: NodeBackend, fault: DemoFaultEvent): Promise<string> {
  switch (fault.action) {
    case 'byzantine':
      await node.command('setByzantine', fault.mode);
      return `Byzantine: ${fault.mode}`;
    case 'crash':
      await node.command('crashWorker');
      return 'crashed (its worker restarts)';
    case 'partition':
      await node.command('demoIsolated', partitionMs);
      await node.command('demoIsolate', partitionMs);
      return 'links cut';
    case 'sleep':
      await node.command('demoSleep', sleepMs);
      return `asleep for ${sleepMs / 1000} s`;
    case 'restore':
      await node.command('setByzantine', null);
      await node.command('demoIsolate', 0);
      await node.command('demoIsolated', 0);
      return 'back to normal';
  }
}

/**
 * Tells the worker which controller this tab accepts (or none: a tab opened without the
 * parameter refuses every fault) and carries out what it accepts.
 */
export function installDemoControl(node: NodeBackend, params: URLSearchParams): void {
  const raw = params.get(controllerParam);
  const controller = raw !== null && v.safeParse(controllerSchema, raw).success ? raw : null;
  if (raw !== null && controller === null) console.warn(`tabmesh: ?${controllerParam}= is not a node id; this tab accepts no demo commands`);
  node.command('demoController', controller).catch((error: unknown) => console.warn('tabmesh: demo control:', error));
  if (controller === null) return;
  const notice = banner();
  notice.textContent = `This tab accepts fault clicks from the demo screen (node ${controller.slice(0, 8)}).`;
  node.onEvent('demo-fault', (payload) => {
    const fault = decodeWith(demoFaultEventSchema, payload);
    if (!fault.ok) return console.warn('tabmesh: a demo fault the page cannot read:', fault.error);
    carryOut(node, fault.value).then(
      (what) => (notice.textContent = `The demo screen (node ${fault.value.by.slice(0, 8)}) made this node: ${what}.`),
      (error: unknown) =>
        (notice.textContent = `The demo screen asked for ${fault.value.action}, which failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  });
}

/** A small fixed notice, outside the dashboard's layout (it may not have mounted yet). */
function banner(): HTMLElement {
  const el = document.createElement('p');
  el.setAttribute('role', 'status');
  el.dataset['testid'] = 'demo-control-notice';
  el.style.cssText =
    'position:fixed;bottom:0.5rem;right:0.5rem;z-index:50;margin:0;max-width:28rem;padding:0.5rem 0.8rem;border-radius:0.4rem;background:#3a2a05;color:#ffe9a8;font:0.85rem system-ui,sans-serif;border:1px solid #c9a227';
  document.body.append(el);
  return el;
}
