// The room around a pBFT replica, pure: which genesis it starts from (genesis.ts, founding.ts,
// agreement.ts) and which membership operations this node submits (membership.ts). The worker's
// PbftService wires them to gossip, the signaling server, storage and signatures.
export * from './genesis.ts';
export * from './founding.ts';
export * from './agreement.ts';
export * from './membership.ts';
