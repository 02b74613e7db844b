/**
 * The cluster parts, in start order (they stop in reverse). Routes come first: the registry restores
 * sessions (and so subscriptions) that must reach the bus as routes.
 */
import { ConfLog } from './conf-log.js';
import { ClusterRegistry } from './registry.js';
import { RetainedPart } from './retained.js';
import { RoutesPart } from './routes.js';
import type { ClusterPart } from './types.js';

export function clusterParts(): ClusterPart[] {
  return [new RoutesPart(), new ClusterRegistry(), new RetainedPart(), new ConfLog()];
}
