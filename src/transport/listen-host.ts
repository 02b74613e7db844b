/**
 * `node.listen_host`: the address this node's listeners take when their bind names every interface
 * (`0.0.0.0`, `::` or a bare port). Several nodes on one machine (the cluster demo) each get a loopback
 * address of their own, so a listener that a cluster-wide change adds with one bind (`61613`) listens on
 * every node instead of on the first one only. Empty (the default): binds are taken as written.
 */
let host = '';

/** Set once at node start, before any listener binds. */
export function setListenHost(next: string): void {
  host = next.trim();
}

/** The host a listener binds for its configured host. */
export function bindHost(configured: string): string {
  if (host === '') return configured;
  return configured === '' || configured === '0.0.0.0' || configured === '::' ? host : configured;
}
