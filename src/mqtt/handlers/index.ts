/**
 * The dispatch table: which handler takes a packet in which connection state. One handler file per packet
 * type sits beside this file.
 */
import type { ClientPacket } from '../codec/packets.js';
import { PINGRESP_FRAME } from '../codec/serializer.js';
import { ChannelState, type HandlerResult, type MqttClient } from '../state.js';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './acks.js';
import { handleAuth } from './auth.js';
import { handleConnect } from './connect.js';
import { handleDisconnect } from './disconnect.js';
import { handlePublish } from './publish.js';
import { handleSubscribe } from './subscribe.js';
import { handleUnsubscribe } from './unsubscribe.js';

/** Hands one packet to its handler for the client's current state. */
export function dispatch(ch: MqttClient, p: ClientPacket): HandlerResult {
  const m = ch.host.broker.metrics.c;
  switch (ch.state) {
    case ChannelState.Idle:
      if (p.cmd === 'connect') return handleConnect(ch, p);
      return ch.protocolError(`${p.cmd} before CONNECT`);
    case ChannelState.Connecting:
      if (p.cmd === 'auth') return handleAuth(ch, p);
      if (p.cmd === 'disconnect') {
        m['packets.disconnect.received']++;
        ch.close('normal');
        return;
      }
      return ch.protocolError(`${p.cmd} during authentication`);
    case ChannelState.Connected:
      break;
    default:
      return;
  }
  switch (p.cmd) {
    case 'publish':
      return handlePublish(ch, p);
    case 'puback':
      return handlePuback(ch, p);
    case 'pubrec':
      return handlePubrec(ch, p);
    case 'pubrel':
      return handlePubrel(ch, p);
    case 'pubcomp':
      return handlePubcomp(ch, p);
    case 'subscribe':
      return handleSubscribe(ch, p);
    case 'unsubscribe':
      return handleUnsubscribe(ch, p);
    case 'pingreq':
      m['packets.pingreq.received']++;
      // The shared frame, not serialize(): no packet object and no 2-byte buffer per ping of an idle fleet.
      if (!ch.conn.closed) ch.sendFrame(PINGRESP_FRAME);
      m['packets.pingresp.sent']++;
      return;
    case 'disconnect':
      return handleDisconnect(ch, p);
    case 'auth':
      return handleAuth(ch, p);
    case 'connect':
      // A second CONNECT is a protocol violation [MQTT-3.1.0-2].
      m['packets.connect.received']++;
      return ch.protocolError('second CONNECT');
  }
}
