// The demo view (`?view=demo`): this tab joins the room as a watcher — it never becomes a
// replica, so it changes no quorum — and shows the room's nodes and their messages.
import { mount } from 'svelte';
import type { NodeBackend } from '../../api/backend.ts';
import DemoView from './DemoView.svelte';
import { DemoState } from './demo-state.svelte.ts';

/** The URL parameter and value that open the demo view instead of the dashboard. */
export const demoViewParam = { name: 'view', value: 'demo' } as const;

export function isDemoView(params: URLSearchParams): boolean {
  return params.get(demoViewParam.name) === demoViewParam.value;
}

export function mountDemoView(target: HTMLElement, node: NodeBackend): void {
  node.command('demoObserve', true).catch((error: unknown) => console.error('tabmesh demo: could not start watching:', error));
  document.title = 'Tabmesh — consensus demo';
  mount(DemoView, { target, props: { demo: new DemoState(node) } });
}
