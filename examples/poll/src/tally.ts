// The poll as the room's replicated memory holds it, and the tally every tab computes from it.
// Pure functions: every tab that holds the same memory renders the same result.

/** The question being asked, under the memory key `poll`. A new poll gets a new id, so old votes no longer count. */
export interface Poll {
  id: string;
  question: string;
  answers: string[];
  by: string;
}

/** Memory key of `voter`'s vote in poll `pollId`; its value is the index of the chosen answer. */
export const voteKey = (pollId: string, voter: string): string => `vote/${pollId}/${voter}`;

/** A stored poll, or null when the value is not one (memory holds whatever any node wrote). */
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

/** Counts the votes of `poll` among `entries` (key → value); `present` are the nodes now in the room, this one included. */
export function tally(poll: Poll, entries: ReadonlyMap<string, unknown>, present: readonly string[]): Tally {
  const counts = poll.answers.map(() => 0);
  const voters: string[] = [];
  const prefix = `vote/${poll.id}/`;
  for (const [key, value] of entries) {
    if (!key.startsWith(prefix) || typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= counts.length) continue;
    counts[value]! += 1;
    voters.push(key.slice(prefix.length));
  }
  voters.sort();
  const everyoneVoted = present.length > 0 && present.every((id) => voters.includes(id));
  const best = counts.indexOf(Math.max(...counts));
  return { counts, voters, decided: everyoneVoted ? (poll.answers[best] ?? null) : null };
}
