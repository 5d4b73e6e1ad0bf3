// PLACEHOLDER until the app API (joinRoom, Room, errors) lands from the "api" branch: the
// package's browser entry (`tabmesh`) re-exports the embeddable node so the build, the exports
// map and the tarball test can be made now. The api branch's index.ts replaces this file.
export { createMeshNode, requireCapabilities, CapabilityError, type MeshNode, type MeshNodeOptions } from '../mesh-node.ts';
