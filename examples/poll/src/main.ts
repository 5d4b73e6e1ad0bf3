// Room poll: any tab asks a question, every tab of the room votes, and the room decides by
// consensus: the poll is a replicated state machine (poll-machine.ts) whose operations pBFT
// orders (room.consensus), so every tab renders the same tally from the same state, and once
// every tab present has voted they all show the same decision. Open several tabs of one
// address (?room=… picks the room).
import { joinRoom, type Consensus, type Room } from 'tabmesh';
import { createPollMachine, type PollOp, type PollState } from './poll-machine.ts';
import { tally, type Poll } from './tally.ts';

const roomName = new URLSearchParams(location.search).get('room') ?? 'poll';
const $ = <T extends HTMLElement>(testid: string): T => document.querySelector<T>(`[data-testid="${testid}"]`)!;
const status = $('status');

function render(room: Room, state: PollState, poll$: Consensus<PollOp, boolean>): void {
  const { poll, votes } = state;
  const present = [room.id, ...room.peers()];
  status.textContent = `Room “${roomName}”: you and ${present.length - 1} other${present.length === 2 ? '' : 's'} here.`;
  $('poll').hidden = poll === null;
  if (!poll) return;
  const result = tally(poll, votes, present);
  const mine = votes[room.id];
  $('question').textContent = poll.question;
  $('answers').replaceChildren(
    ...poll.answers.map((answer, index) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = answer;
      button.setAttribute('aria-pressed', String(mine === index));
      button.addEventListener('click', () => propose(poll$, { vote: { pollId: poll.id, voter: room.id, answer: index } }));
      const count = document.createElement('span');
      count.dataset['testid'] = 'count';
      count.textContent = String(result.counts[index]);
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.style.width = `${present.length ? (100 * (result.counts[index] ?? 0)) / present.length : 0}%`;
      item.append(button, count, bar);
      return item;
    }),
  );
  $('result').textContent = result.decided !== null ? `The room decided: ${result.decided}` : `${result.voters.length} of ${present.length} voted`;
}

/** Proposes `op` to the room; a refusal (no quorum yet, say) is shown, and the click can be repeated. */
function propose(poll$: Consensus<PollOp, boolean>, op: PollOp): void {
  poll$.propose(op).catch((error: unknown) => (status.textContent = `Not decided: ${error instanceof Error ? error.message : String(error)}`));
}

async function main(): Promise<void> {
  const room = await joinRoom({ room: roomName });
  const machine = createPollMachine();
  const poll$ = room.consensus('poll', machine);
  const update = () => render(room, machine.state, poll$);
  room.on('peer-join', update);
  room.on('peer-leave', update);
  poll$.on('applied', update);
  poll$.on('restored', update);
  $<HTMLFormElement>('ask').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const answers = String(form.get('answers'))
      .split('\n')
      .map((a) => a.trim())
      .filter(Boolean)
      .slice(0, 8);
    if (answers.length < 2) return void (status.textContent = 'Give at least two answers, one per line.');
    const poll: Poll = { id: crypto.randomUUID(), question: String(form.get('question')).trim(), answers, by: room.id };
    propose(poll$, { ask: poll });
  });
  addEventListener('pagehide', () => void room.leave());
  update();
}

main().catch((error: unknown) => {
  status.textContent = `Could not join: ${error instanceof Error ? error.message : String(error)}`;
});
