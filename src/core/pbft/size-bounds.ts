// The largest message pBFT can legitimately produce, in UTF-8 bytes, and the check that a
// parameter set keeps it within the frame limit a peer accepts (src/core/envelope.ts).
//
// The worst case is a view change (a fetched one is forwarded as is): for every sequence number
// of the log window (L = logWindowSeqs) a prepared certificate — a pre-prepare and q − 1
// prepares — with its batch attached at the full maxBatchBytes, plus the stable checkpoint's q
// signed checkpoints. Every other message is smaller: a pre-prepare or proof carries one batch,
// a new-view only digests. A view change cannot be split or trimmed: dropping a prepared
// certificate could let the new view reorder a request that committed somewhere, so the bound
// must hold by construction, which is what `checkPbftParams` makes sure of.
//
// Batches are bounded in bytes, so their text counts at its limit whatever the characters. The
// certificates are counted with every field at its wire maximum (maxNodeIdChars, maxSigChars,
// maxDigestChars, the largest numbers) in ASCII: node ids are public keys and signatures are
// base64url text; a certificate with other signer names or signatures never verifies, so an
// honest replica never holds one.
import { maxFrameBytes } from '../envelope.ts';
import { checkParams, maxDigestChars, maxNodeIdChars, maxSigChars, maxViewNumber, type PbftParams } from './constants.ts';
import { quorumSize } from './quorum.ts';
import { utf8Length } from './utf8.ts';

/**
 * What the runtime's wrapping adds around a pBFT message: the link frame `{"p":"pbft","m":…}`
 * and the pbft-wire frame `{"g":<16 hex>,"m":…}` (about 50 bytes), with room to spare.
 */
export const frameWrappingBytes = 256;

const id = 'n'.repeat(maxNodeIdChars);
const sig = 's'.repeat(maxSigChars);
const digest = 'd'.repeat(maxDigestChars);
const bigSeq = Number.MAX_SAFE_INTEGER;

function vote(type: 'pre-prepare' | 'prepare') {
  return { body: { type, epoch: maxViewNumber, view: maxViewNumber, seq: bigSeq, digest }, signer: id, sig };
}

function checkpoint() {
  return { body: { type: 'checkpoint', epoch: maxViewNumber, seq: bigSeq, stateDigest: digest, configDigest: digest }, signer: id, sig };
}

/**
 * UTF-8 bytes of the largest view-change frame `params` allow: the message with every batch
 * empty, measured, plus each batch's text at maxBatchBytes, plus frameWrappingBytes.
 */
export function worstViewChangeFrameBytes(params: PbftParams): number {
  const q = quorumSize(params.maxReplicas);
  const windowSeqs = params.logWindowSeqs;
  const cert = { pp: vote('pre-prepare'), prepares: Array.from({ length: q - 1 }, () => vote('prepare')) };
  const skeleton = {
    body: {
      type: 'view-change',
      epoch: maxViewNumber,
      view: maxViewNumber,
      stable: { seq: bigSeq, stateDigest: digest, proof: Array.from({ length: q }, checkpoint) },
      prepared: Array.from({ length: windowSeqs }, () => cert),
    },
    signer: id,
    sig,
    batches: Array.from({ length: windowSeqs }, () => []),
  };
  // Each empty batch `[]` is 2 bytes of the skeleton; a full one is maxBatchBytes.
  return utf8Length(JSON.stringify(skeleton)) + windowSeqs * (params.maxBatchBytes - 2) + frameWrappingBytes;
}

let lastChecked: { key: string; problem: string | null } | null = null;

/**
 * checkParams, and that the largest view change fits maxFrameBytes; null if the set works,
 * else why not and what to change. Remembers the last answer (setMaxBatchRequests asks often).
 */
export function checkPbftParams(params: PbftParams): string | null {
  const basic = checkParams(params);
  if (basic) return basic;
  const key = `${params.logWindowSeqs}/${params.maxReplicas}/${params.maxBatchBytes}`;
  if (lastChecked?.key === key) return lastChecked.problem;
  const bytes = worstViewChangeFrameBytes(params);
  const problem =
    bytes > maxFrameBytes
      ? `a view change with ${params.logWindowSeqs} full batches of ${params.maxBatchBytes} bytes and ${params.maxReplicas} replicas could be ${bytes} bytes, ` +
        `more than the ${maxFrameBytes}-byte frame limit: lower maxBatchBytes, logWindowSeqs or maxReplicas`
      : null;
  lastChecked = { key, problem };
  return problem;
}
