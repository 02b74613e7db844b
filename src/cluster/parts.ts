/** The cluster parts, in start order (they stop in reverse). */
import { RetainedPart } from './retained.js';
import type { ClusterPart } from './types.js';

export function clusterParts(): ClusterPart[] {
  return [new RetainedPart()];
}
