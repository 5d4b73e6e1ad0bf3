// `computeSubmit({ kind, tasks, priority?, redundancy? })`: a job of an app's kind, one task per
// input, as the app hands it over. Checked here with refusal codes the app API turns into typed
// errors; the stealing core then checks each input's JSON and size again.
import { defaultStealConfig, measureJson, type JobSubmission, type StealEffect } from '../../core/steal/index.ts';
import type { JsonValue } from '../../core/steal/json.ts';
import type { CommandError } from '../command-error.ts';
import { decodeAppSubmission } from './steal-app-messages.ts';

export interface AppSubmitContext {
  isBuiltin(kind: string): boolean;
  /** Nodes known to run `kind` (this one included). */
  runners(kind: string): number;
  submit(job: JobSubmission): StealEffect[];
  /** The job was accepted: resolves once it is in the store. */
  accepted(jobId: string, kind: string): Promise<void>;
  refused(code: string, message: string): CommandError;
}

export function submitAppJob(raw: unknown, ctx: AppSubmitContext): Promise<{ id: string; total: number }> {
  const decoded = decodeAppSubmission(raw);
  if (!decoded.ok) return Promise.reject(ctx.refused('bad-job', decoded.error));
  const { kind, tasks, priority, redundancy } = decoded.value;
  if (ctx.isBuiltin(kind))
    return Promise.reject(ctx.refused('bad-job', `computeSubmit: "${kind}" is a built-in kind; submit it with submitJob({ kind, params })`));
  for (let i = 0; i < tasks.length; i++) {
    const size = measureJson(tasks[i], defaultStealConfig.maxTaskParamsBytes);
    if (!size.ok)
      return Promise.reject(
        ctx.refused(
          'bad-input',
          `computeSubmit: task ${i}'s input is refused: ${size.error} (tasks travel as JSON of at most ${defaultStealConfig.maxTaskParamsBytes} bytes)`,
        ),
      );
  }
  if (ctx.runners(kind) === 0) {
    return Promise.reject(
      ctx.refused('no-runner', `no node runs "${kind}" (not this one, nor any peer it heard from lately): register a kernel for it on at least one node`),
    );
  }
  const effects = ctx.submit({ kind, tasks: tasks as JsonValue[], priority, redundancy });
  for (const effect of effects) {
    if (effect.type !== 'event') continue;
    if (effect.event.kind === 'job-refused') return Promise.reject(ctx.refused('job-refused', effect.event.reason));
    if (effect.event.kind === 'job-submitted') {
      const { jobId, total } = effect.event;
      return ctx.accepted(jobId, kind).then(() => ({ id: jobId, total }));
    }
  }
  return Promise.reject(ctx.refused('job-refused', 'the job was neither accepted nor refused (a bug: please report it)'));
}
