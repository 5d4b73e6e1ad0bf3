// The bench's handle on the attacker process (attacker-process.ts): forked with tsx, at a lower
// CPU priority than the server and the legitimate clients, because on this one machine the
// attacker's own CPU would otherwise count against the server; a real abuser has a machine of
// its own. What it managed to send is reported with every attack, so a starved attacker shows.
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { AttackContext, AttackReport } from './attacks.ts';
import type { AttackerAnswer, AttackerCommand } from './attacker-process.ts';

/** Niceness of the attacker process (0 normal, 19 lowest). */
const attackerNiceness = 10;
/** An attack must answer within its duration plus this (cleanup, reconnects in flight). */
const answerGraceMs = 30_000;

export interface Attacker {
  pid: number;
  run(name: string, ctx: AttackContext): Promise<AttackReport>;
  stop(): void;
}

export function startAttacker(): Attacker {
  const child: ChildProcess = fork(fileURLToPath(new URL('./attacker-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pid = child.pid as number;
  try {
    setPriority(pid, attackerNiceness);
  } catch {
    // Not allowed here: the attacker then competes at normal priority (said in the report).
  }
  return {
    pid,
    run: (name, ctx) =>
      new Promise<AttackReport>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.off('message', onMessage);
          reject(new Error(`attack ${name} did not finish within ${ctx.durationMs + answerGraceMs} ms`));
        }, ctx.durationMs + answerGraceMs);
        const onMessage = (answer: AttackerAnswer): void => {
          if (answer.name !== name) return;
          clearTimeout(timer);
          child.off('message', onMessage);
          if ('error' in answer) reject(new Error(`attack ${name} failed: ${answer.error}`));
          else resolve(answer.report);
        };
        child.on('message', onMessage);
        child.send({ name, ctx } satisfies AttackerCommand);
      }),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
