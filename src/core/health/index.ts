export * from './score.ts';
export * from './faults.ts';
