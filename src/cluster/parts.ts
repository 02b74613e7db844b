/** The cluster parts, in start order (they stop in reverse). */
import { ConfLog } from './conf-log.js';
import { ClusterRegistry } from './registry.js';
import { RetainedPart } from './retained.js';
import type { ClusterPart } from './types.js';

export function clusterParts(): ClusterPart[] {
  return [new ClusterRegistry(), new RetainedPart(), new ConfLog()];
}
