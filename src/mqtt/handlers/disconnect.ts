/**
 * DISCONNECT from a client: a normal end discards the will (0x04 keeps it); MQTT 5 may change the session
 * expiry, but not from 0 to something else [MQTT-3.14.2-2].
 */

import type { DisconnectPacket } from '../codec/packets.js';
import { RC } from '../reason-codes.js';
import type { MqttClient } from '../state.js';

/** Handles DISCONNECT. */
export function handleDisconnect(ch: MqttClient, p: DisconnectPacket): void {
  ch.host.broker.metrics.c['packets.disconnect.received']++;
  const expiry = p.properties?.sessionExpiryInterval;
  if (ch.version === 5 && expiry !== undefined) {
    if (ch.connectExpiry === 0 && expiry !== 0) {
      ch.protocolError('session expiry raised from 0 in DISCONNECT');
      return;
    }
    const capped = Math.min(expiry, ch.host.mqtt.max_session_expiry_interval);
    if (ch.session !== undefined) ch.session.expiryInterval = capped;
    ch.connInfo.expiry_interval = capped;
  }
  if (p.reasonCode !== RC.DISCONNECT_WITH_WILL) ch.will = undefined;
  // The client sends nothing after its DISCONNECT [MQTT-3.14.4-1]: no need to wait for its FIN.
  ch.close(p.reasonCode === RC.SUCCESS ? 'normal' : 'disconnect_with_will', true);
}
