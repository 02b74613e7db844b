/** The MQTT-SN gateway module: MQTT-SN 1.2 over udp (default port 1884; dtls is refused by the transport). */
import type { GatewayModule } from '../types.js';
import { Advertiser } from './broadcast.js';
import { MqttSnChannel } from './channel.js';
import { SnCodec, type SnFrame } from './frame.js';
import { type MqttSnConfig, mqttsnDescriptor } from './schema.js';

/** The module the catalogue loads. */
export const mqttsnGateway: GatewayModule<SnFrame, MqttSnConfig> = {
  ...mqttsnDescriptor,
  createCodec: () => new SnCodec(),
  createChannel: (ctx) => new MqttSnChannel(ctx),
  start: (rt) => new Advertiser({ config: rt.config, log: rt.log }),
};
