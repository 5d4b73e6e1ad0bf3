// The poll and the tally every tab computes from the replicated state: pure functions, so every
// tab that holds the same state renders the same result.

/** The question being asked. A new poll gets a new id. */
export interface Poll {
  id: string;
  question: string;
  answers: string[];
  by: string;
}

/** A poll, or null when the value is not one (operations come from any node of the room). */
export function readPoll(value: unknown): Poll | null {
  if (typeof value !== 'object' || value === null) return null;
  const { id, question, answers, by } = value as Record<string, unknown>;
  if (typeof id !== 'string' || typeof question !== 'string' || typeof by !== 'string') return null;
  if (!Array.isArray(answers) || answers.length < 2 || answers.length > 8 || !answers.every((a) => typeof a === 'string')) return null;
  return { id, question, answers, by };
}

export interface Tally {
  /** Votes per answer, in the poll's order. */
  counts: number[];
  /** Who voted (node ids), sorted. */
  voters: string[];
  /** The answer with the most votes once every node present has voted; ties go to the earlier answer. */
  decided: string | null;
}

/** Counts `votes` (voter → answer index) of `poll`; `present` are the nodes now in the room, this one included. */
export function tally(poll: Poll, votes: Readonly<Record<string, number>>, present: readonly string[]): Tally {
  const counts = poll.answers.map(() => 0);
  const voters: string[] = [];
  for (const [voter, answer] of Object.entries(votes)) {
    if (!Number.isInteger(answer) || answer < 0 || answer >= counts.length) continue;
    counts[answer]! += 1;
    voters.push(voter);
  }
  voters.sort();
  const everyoneVoted = present.length > 0 && present.every((id) => voters.includes(id));
  const best = counts.indexOf(Math.max(...counts));
  return { counts, voters, decided: everyoneVoted ? (poll.answers[best] ?? null) : null };
}
