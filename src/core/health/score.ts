// The overall coordination score of one node's view of the mesh, in [0, 1], and each
// component's share of it. Pure: the health service (src/worker/services/health.ts) gathers
// the inputs from the other services' views; the UI and window.tabmesh show the result.
//
//   score = Σ weight_c × value_c      (each value_c in [0, 1]; the weights sum to 1)
//
// A component's share is weight_c × value_c, so the shares add up to the score and a person
// can see at once which part of the mesh costs how much. docs/reference.md ("Health score") documents
// the same formula; change both together.

/** What the score is computed from: one node's current view, plus its faults of the last minute. */
export interface HealthInputs {
  mesh: {
    /** Direct links up at this node. */
    links: number;
    /** Live nodes of the mesh this node knows of, itself included. */
    nodes: number;
    /** The overlay's partition risk of the known graph, in [0, 1]. */
    partitionRisk: number;
  };
  /** null: this node runs no consensus service. */
  consensus: {
    status: 'bootstrapping' | 'replica' | 'observer';
    mode: 'normal' | 'view-change';
    /** Why consensus cannot progress, or null. */
    halted: string | null;
    replicas: number;
    /** Replicas this node believes alive (gossip), itself included; defaults to all of them. */
    replicasAlive?: number;
    f: number;
    /** Matching votes a certificate needs (2f + 1). */
    quorum?: number;
  } | null;
  gossip: {
    /** Share of recently heard peers whose memory fingerprint equals ours; null before any sync. */
    peerAgreement: number | null;
    alive: number;
    suspect: number;
  };
  /** Variance of queued + running work per worker across the nodes this one hears from. */
  loadVariance: number;
  /** Counts of the last minute (see FaultWindow). */
  faults: RecentFaults;
}

export interface RecentFaults {
  refused: number;
  viewChanges: number;
  suspicions: number;
}

export type HealthComponent = 'connectivity' | 'quorum' | 'convergence' | 'balance' | 'faults';

/** How much each component counts. They sum to 1. */
export const healthWeights: Readonly<Record<HealthComponent, number>> = {
  connectivity: 0.25,
  quorum: 0.25,
  convergence: 0.2,
  balance: 0.15,
  faults: 0.15,
};

/** Links a node should keep (the overlay's lower bound, mission-notes: 3–5 links per node). */
export const healthTargetLinks = 3;
/** Refused inputs in a minute that halve the faults component (garbage from a peer, bad commands). */
export const refusedHalfCount = 20;
/** View changes in a minute that halve the faults component: each one is a failed primary. */
export const viewChangesHalfCount = 2;
/** Suspicions this node raised in a minute that halve the faults component. */
export const suspicionsHalfCount = 4;

export interface HealthReport {
  /** Σ of the shares, in [0, 1], rounded to 3 decimals. */
  score: number;
  /** Each component's share of the score: weight × value. */
  components: Record<HealthComponent, number>;
  /** Each component's own value in [0, 1] before weighting (1 = perfect). */
  values: Record<HealthComponent, number>;
  weights: Readonly<Record<HealthComponent, number>>;
}

const clamp01 = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Enough links (min(3, other live nodes) are wanted) counts half; a graph far from splitting
 * counts the other half. A node alone has nothing to connect to: 1.
 */
export function connectivityValue(mesh: HealthInputs['mesh']): number {
  const others = Math.max(0, mesh.nodes - 1);
  if (others === 0) return 1;
  const wanted = Math.min(healthTargetLinks, others);
  const linkShare = clamp01(mesh.links / wanted);
  return clamp01(0.5 * linkShare + 0.5 * (1 - clamp01(mesh.partitionRisk)));
}

/**
 * 1 while a quorum can order requests with all f failures still to spare; down to 0.75 as the
 * spare replicas are used up (alive − quorum of f); 0.5 while consensus is being formed or
 * changing view (it will likely come back); 0.25 when fewer replicas look alive than a quorum
 * needs (it is about to stall); 0 when halted (more than f faulty or unreachable) or absent.
 */
export function quorumValue(consensus: HealthInputs['consensus']): number {
  if (consensus === null) return 0;
  if (consensus.halted !== null) return 0;
  if (consensus.status === 'bootstrapping' || !(consensus.replicas > 0)) return 0.5;
  if (consensus.mode === 'view-change') return 0.5;
  const alive = consensus.replicasAlive ?? consensus.replicas;
  const quorum = consensus.quorum ?? 2 * consensus.f + 1;
  if (alive < quorum) return 0.25;
  if (!(consensus.f > 0)) return 1;
  return clamp01(0.75 + (0.25 * Math.min(consensus.f, alive - quorum)) / consensus.f);
}

/**
 * Peers agreeing with our memory, times the share of live members not under suspicion. Before
 * any sync a lone node agrees with everyone (1); with peers it does not know yet (0.5).
 */
export function convergenceValue(gossip: HealthInputs['gossip']): number {
  const live = gossip.alive + gossip.suspect;
  const aliveShare = live === 0 ? 1 : gossip.alive / live;
  const agreement = gossip.peerAgreement ?? (live <= 1 ? 1 : 0.5);
  return clamp01(clamp01(agreement) * aliveShare);
}

/** 1 / (1 + variance): even load (or none) is 1; a variance of 1 task² per worker halves it. */
export function balanceValue(loadVariance: number): number {
  if (!Number.isFinite(loadVariance) || loadVariance < 0) return 0;
  return clamp01(1 / (1 + loadVariance));
}

/** 1 / (1 + Σ count / half-count): a quiet minute is 1; each kind of fault lowers it smoothly. */
export function faultsValue(faults: RecentFaults): number {
  const load =
    Math.max(0, faults.refused) / refusedHalfCount +
    Math.max(0, faults.viewChanges) / viewChangesHalfCount +
    Math.max(0, faults.suspicions) / suspicionsHalfCount;
  return clamp01(1 / (1 + (Number.isFinite(load) ? load : Infinity)));
}

export function healthScore(inputs: HealthInputs): HealthReport {
  const values: Record<HealthComponent, number> = {
    connectivity: connectivityValue(inputs.mesh),
    quorum: quorumValue(inputs.consensus),
    convergence: convergenceValue(inputs.gossip),
    balance: balanceValue(inputs.loadVariance),
    faults: faultsValue(inputs.faults),
  };
  const components = {} as Record<HealthComponent, number>;
  let score = 0;
  for (const name of Object.keys(healthWeights) as HealthComponent[]) {
    const share = healthWeights[name] * values[name];
    components[name] = round3(share);
    score += share;
  }
  for (const name of Object.keys(values) as HealthComponent[]) values[name] = round3(values[name]);
  return { score: round3(clamp01(score)), components, values, weights: healthWeights };
}
