/**
 * Who binds UDP listeners in this process. Under `hermod start --workers N` (node:cluster) a UDP socket
 * bound the ordinary way is one handle shared through the primary, and the kernel hands each datagram to
 * whichever worker reads first: one peer's datagrams spread over workers and its session breaks
 * (../shared/reference/cluster.md §4.11). So one worker owns every UDP listener (MQTT-SN, CoAP, LwM2M,
 * DTLS, ExProto udp) with an exclusive bind, and the other workers do not bind them at all.
 */

/** `single`: not a worker, bind as usual; `own`: the worker that binds UDP (exclusively); `skip`: bind none. */
export type DatagramRole = 'single' | 'own' | 'skip';

let role: DatagramRole = 'single';

/** Set once by `hermod start` in a worker, before the node starts. */
export function setDatagramRole(next: DatagramRole): void {
  role = next;
}

export function datagramRole(): DatagramRole {
  return role;
}
