// The demo view's vocabulary: colours and names of message kinds, one line per Byzantine mode,
// and the fault actions a click offers. Shared by the ring, the legend and the fault menu.
import type { ByzantineMode } from '../../core/pbft/index.ts';
import type { TracedKind } from '../../core/pbft/trace.ts';

/** Phase colours, distinct on the dark projector theme and in greyscale (by lightness too). */
export const kindColour: Record<TracedKind, string> = {
  request: '#f4f4f4',
  'pre-prepare': '#ffb300',
  prepare: '#40c4ff',
  commit: '#69f0ae',
  reply: '#ea80fc',
  checkpoint: '#9e9e9e',
  'view-change': '#ff5252',
  'new-view': '#ff9e80',
};

/** Short marks drawn on a message (people who cannot tell the colours apart read these). */
export const kindLetter: Record<TracedKind, string> = {
  request: 'R',
  'pre-prepare': 'PP',
  prepare: 'P',
  commit: 'C',
  reply: '✓',
  checkpoint: 'K',
  'view-change': 'VC',
  'new-view': 'NV',
};

/** The phase group a message belongs to (data-phase on drawn messages). */
export function phaseOf(kind: TracedKind): 'normal-case' | 'view-change' | 'checkpoint' {
  if (kind === 'view-change' || kind === 'new-view') return 'view-change';
  if (kind === 'checkpoint') return 'checkpoint';
  return 'normal-case';
}

/** One line per Byzantine mode, for the fault menu. */
export const byzantineLine: Record<ByzantineMode, string> = {
  silent: 'Sends nothing at all: a crashed node that still looks alive.',
  equivocate: 'As primary, tells half the replicas one order and the other half another.',
  'wrong-digest': 'Votes prepare and commit for batches that do not exist.',
  forge: 'Also sends votes in other replicas’ names: honest nodes see the bad signatures.',
  replay: 'Sends old messages again, now and then.',
  delay: 'Holds each message back 0.2–1.5 s, so they also arrive out of order.',
};

export const shortId = (id: string): string => id.slice(0, 6);
