// The attacker's own process (forked by attacker.ts): it runs one attack at a time on command
// over IPC and answers with what it sent and what the server did to it. Apart from the bench
// process, so that the attacker's work never delays the legitimate clients' event loop there.
import { attacks, type AttackContext, type AttackReport } from './attacks.ts';

export type AttackerCommand = { name: string; ctx: AttackContext };
export type AttackerAnswer = { name: string; report: AttackReport } | { name: string; error: string };

process.on('message', (command: AttackerCommand) => {
  const answer = (a: AttackerAnswer): void => {
    process.send?.(a);
  };
  const attack = attacks.find((a) => a.name === command.name);
  if (!attack) return answer({ name: command.name, error: `no attack named ${command.name}` });
  attack.run(command.ctx).then(
    (report) => answer({ name: command.name, report }),
    (err: unknown) => answer({ name: command.name, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
// The bench went away: nothing to attack for.
process.on('disconnect', () => process.exit(0));
