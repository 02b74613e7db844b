/** The MQTT-SN gateway module: MQTT-SN 1.2 over udp (default port 1884; dtls on 1885). */
import type { GatewayModule } from '../types.js';
import { Advertiser } from './broadcast.js';
import { MqttSnChannel } from './channel.js';
import { RC, SnCodec, type SnFrame, serializeMessage } from './frame.js';
import { type MqttSnConfig, mqttsnDescriptor } from './schema.js';

/** The module the catalogue loads. */
export const mqttsnGateway: GatewayModule<SnFrame, MqttSnConfig> = {
  ...mqttsnDescriptor,
  createCodec: () => new SnCodec(),
  createChannel: (ctx) => new MqttSnChannel(ctx),
  start: (rt) => new Advertiser({ config: rt.config, log: rt.log }),
  refusalReply: congestionReply,
};

const CONGESTION = serializeMessage({ type: 'CONNACK', rc: RC.CONGESTION });

/**
 * A full gateway answers a new client's CONNECT with CONNACK 0x01 "rejected: congestion" (MQTT-SN 1.2 §5.4.3),
 * so the device backs off instead of retrying into silence; anything else from an unknown peer gets nothing.
 */
function congestionReply(datagram: Buffer): Buffer | undefined {
  const { frames } = new SnCodec().feed(datagram);
  return frames[0]?.type === 'CONNECT' ? CONGESTION : undefined;
}
