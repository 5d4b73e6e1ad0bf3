// How a chaos run is shown: one JSON line per check and one for the run on stdout (for machines,
// like bench/), a table and every failure on stderr (for people), and the seed to replay.
import { printTable, type Row } from '../bench/report.ts';
import type { ChaosReport } from './run.ts';

export function printReport(report: ChaosReport, out: (line: string) => void = console.log, err: (line: string) => void = console.error): void {
  out(
    JSON.stringify({
      type: 'chaos',
      seed: report.seed,
      tabs: report.tabs,
      durationS: Math.round(report.durationMs / 1000),
      quick: report.quick,
      ok: report.ok,
      ...report.figures,
    }),
  );
  for (const c of report.checks) out(JSON.stringify({ type: 'check', name: c.name, ok: c.ok, summary: c.summary, ...c.figures, failuresListed: c.failures }));
  const rows: Row[] = report.checks.map((c) => ({
    check: c.name,
    verdict: c.ok ? 'PASS' : 'FAIL',
    what: c.summary,
    figures: Object.entries(c.figures)
      .filter(([k]) => k !== 'failures')
      .map(([k, v]) => `${k} ${v ?? '—'}`)
      .join(', '),
  }));
  err('');
  printTable(rows, ['check', 'verdict', 'what', 'figures']);
  const failedActions = report.actions.filter((a) => a.outcome === 'failed');
  for (const a of failedActions) err(`action FAILED: ${a.action} — ${a.note}`);
  for (const c of report.checks) for (const f of c.failures) err(`${c.name} FAILED: ${f}`);
  if (report.pageErrors.length > 0) err(`page errors (${report.figures['pageErrors']}): ${report.pageErrors.join(' | ')}`);
  if (report.ok) err(`\nchaos: every check passed (seed ${report.seed})`);
  else {
    const failed: string[] = report.checks.filter((c) => !c.ok).map((c) => c.name);
    if (failedActions.length > 0) failed.push('actions');
    err(`\nchaos: FAILED (${failed.join(', ')}); seed ${report.seed}; replay: ${report.replay}`);
  }
}
