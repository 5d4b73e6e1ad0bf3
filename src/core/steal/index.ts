// Public surface of the work-stealing core (see core.ts for how a runtime drives it).
export { createStealCore, StealCore, type StealCoreOptions } from './core.ts';
export { defaultStealConfig, resolveStealConfig, type StealConfig } from './config.ts';
export {
  decodeStealMessage,
  decodeLoadAdvert,
  describeStealMessage,
  priorities,
  refKey,
  taskIdOf,
  type JobId,
  type TaskId,
  type LoadAdvert,
  type Priority,
  type StealMsg,
  type TaskRef,
  type WorkItem,
} from './messages.ts';
export { decodePersistedJobs, stealKeyPrefix, type RestoredJob, type RestoreReport } from './persist.ts';
export { canonicalJson, measureJson, type JsonValue } from './json.ts';
export type {
  JobStatus,
  JobSubmission,
  JobView,
  RefusalReason,
  StealAction,
  StealCounters,
  StealEffect,
  StealEvent,
  StealInput,
  StealView,
  TaskOutcome,
} from './types.ts';
