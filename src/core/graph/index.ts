// Graph metrics over an undirected adjacency map: the public surface for runtimes and the UI.
export { type Graph, normalizeGraph, graphFromLinks, linkList, linkCount, degreeStats, withoutNodes, compareIds } from './graph.ts';
export { components, isConnected, hopDistances, diameter, type DiameterResult } from './distance.ts';
export { averageClustering } from './clustering.ts';
export { cutStructure, articulationPoints, bridges, twoEdgeComponentLabels, type CutStructure } from './articulation.ts';
export { vertexConnectivity, maxConnectivityFlows, type Connectivity } from './connectivity.ts';
export {
  computeMetrics,
  partitionRisk,
  faultTolerance,
  networkMetrics,
  meshTopologyBlock,
  snapshotTopology,
  type GraphMetrics,
  type FaultTolerance,
  type NetworkMetrics,
  type MeshTopologyBlock,
  type RedundancyLevel,
  type TopologySnapshot,
} from './metrics.ts';
