// uPlot (about 20 KB gzip with its stylesheet) is fetched the first time a plot is shown, not
// with the dashboard: a tab that never opens the charts never downloads it. One promise for
// every plot, so it is fetched once.
import type uPlot from 'uplot';

let loading: Promise<typeof uPlot> | null = null;

/** The uPlot class, its stylesheet applied; later calls share the first call's fetch. */
export function loadUPlot(): Promise<typeof uPlot> {
  loading ??= Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([module]) => module.default);
  // A failed fetch (offline, a new deployment's hashed name) is retried by the next plot.
  loading.catch(() => {
    loading = null;
  });
  return loading;
}
