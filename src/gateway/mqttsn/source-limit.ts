/**
 * Clients per source address of one MQTT-SN gateway. A UDP "client" costs a connection slot from its first
 * datagram, so one host sending CONNECTs from many ports could take every slot; each source IP gets at
 * most `max_clients_per_source` at once, handshakes included. Counts live as long as the process.
 */

const counts = new Map<string, Map<string, number>>();

/** Takes a slot for `peerhost` on `gateway`; false when the source is at `limit` (0 = no limit). */
export function acquireSourceSlot(gateway: string, peerhost: string, limit: number): boolean {
  let perHost = counts.get(gateway);
  if (perHost === undefined) counts.set(gateway, (perHost = new Map()));
  const n = perHost.get(peerhost) ?? 0;
  if (limit > 0 && n >= limit) return false;
  perHost.set(peerhost, n + 1);
  return true;
}

/** Gives back a slot taken by acquireSourceSlot. */
export function releaseSourceSlot(gateway: string, peerhost: string): void {
  const perHost = counts.get(gateway);
  const n = perHost?.get(peerhost);
  if (perHost === undefined || n === undefined) return;
  if (n <= 1) perHost.delete(peerhost);
  else perHost.set(peerhost, n - 1);
}
