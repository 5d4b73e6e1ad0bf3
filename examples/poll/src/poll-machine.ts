// The poll as a replicated state machine: every tab runs one, pBFT (room.consensus) orders the
// operations, and every tab applies them in that same order, so all tabs hold the same poll and
// the same votes. Deterministic: the state depends only on the operations, in order.
import type { StateMachine } from 'tabmesh';
import { readPoll, type Poll } from './tally.ts';

/** What the machine holds: the current poll and each voter's answer (index) in it. */
export interface PollState {
  poll: Poll | null;
  votes: Record<string, number>;
}

/** Ask a new question (old votes no longer count), or vote in the current poll. */
export type PollOp = { ask: Poll } | { vote: { pollId: string; voter: string; answer: number } };

/**
 * A fresh machine. `apply` returns whether the operation changed anything; a vote for another
 * poll or an answer out of range changes nothing (every tab decides that alike). The voter is
 * the one the operation names: fine for a poll among friends, not for a ballot (an app that
 * needs it would sign votes).
 */
export function createPollMachine(): StateMachine<PollOp, boolean, PollState> & { state: PollState } {
  return {
    state: { poll: null, votes: {} },
    apply(op) {
      if ('ask' in op) {
        const poll = readPoll(op.ask);
        if (!poll) return false;
        this.state = { poll, votes: {} };
        return true;
      }
      const { pollId, voter, answer } = op.vote;
      const poll = this.state.poll;
      if (!poll || poll.id !== pollId || typeof voter !== 'string' || !Number.isInteger(answer) || answer < 0 || answer >= poll.answers.length) return false;
      this.state = { poll, votes: { ...this.state.votes, [voter]: answer } };
      return true;
    },
    snapshot() {
      return this.state;
    },
    restore(snapshot) {
      this.state = { poll: readPoll(snapshot.poll), votes: { ...snapshot.votes } };
    },
  };
}
