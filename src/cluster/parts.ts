/** The cluster parts, in start order (they stop in reverse). */
import { ConfLog } from './conf-log.js';
import type { ClusterPart } from './types.js';

export function clusterParts(): ClusterPart[] {
  return [new ConfLog()];
}
