// PLACEHOLDER until the app API on a Node peer lands from the "api" branch: the package's
// `tabmesh/node` entry re-exports the headless peer so the build and the tarball test can be
// made now. The api branch's node.ts replaces this file.
export { startNodePeer, type NodePeer } from '../node/peer.ts';
