/**
 * PUBACK, PUBREC, PUBREL, PUBCOMP from a client: they move the session's QoS 1/2 state forward.
 * An ack for an unknown packet id is counted as missed; MQTT 5 answers PUBREC/PUBREL for unknown ids with
 * 0x92 Packet Identifier not found so both sides can clear their state.
 */

import type { PubAckLikePacket } from '../codec/packets.js';
import { RC } from '../reason-codes.js';
import type { MqttClient } from '../state.js';

/** PUBACK: an outgoing QoS 1 delivery is done. */
export function handlePuback(ch: MqttClient, p: PubAckLikePacket): void {
  const c = ch.host.broker.metrics.c;
  c['packets.puback.received']++;
  if (!ch.session!.puback(p.packetId)) c['packets.puback.missed']++;
}

/** PUBREC: the client has an outgoing QoS 2 delivery; answer PUBREL. */
export function handlePubrec(ch: MqttClient, p: PubAckLikePacket): void {
  const c = ch.host.broker.metrics.c;
  c['packets.pubrec.received']++;
  if (ch.session!.pubrec(p.packetId, p.reasonCode >= 0x80)) return;
  c['packets.pubrec.missed']++;
  if (ch.version === 5) {
    ch.sendAck('pubrel', p.packetId, RC.PACKET_IDENTIFIER_NOT_FOUND);
    c['packets.pubrel.sent']++;
  }
}

/** PUBREL: release an incoming QoS 2 message; answer PUBCOMP. */
export function handlePubrel(ch: MqttClient, p: PubAckLikePacket): void {
  const c = ch.host.broker.metrics.c;
  c['packets.pubrel.received']++;
  const known = ch.session!.release(p.packetId);
  if (!known) c['packets.pubrel.missed']++;
  // 3.x: always complete, the client may be retrying after we already released it.
  const rc = known || ch.version !== 5 ? RC.SUCCESS : RC.PACKET_IDENTIFIER_NOT_FOUND;
  ch.sendAck('pubcomp', p.packetId, rc);
  c['packets.pubcomp.sent']++;
}

/** PUBCOMP: an outgoing QoS 2 delivery is done. */
export function handlePubcomp(ch: MqttClient, p: PubAckLikePacket): void {
  const c = ch.host.broker.metrics.c;
  c['packets.pubcomp.received']++;
  if (!ch.session!.pubcomp(p.packetId)) c['packets.pubcomp.missed']++;
}
