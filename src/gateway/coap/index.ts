/** The CoAP gateway module: RFC 7252 over udp (default port 5683; dtls on 5684). */
import type { GatewayModule } from '../types.js';
import { CoapChannel } from './channel.js';
import { CoapCodec, type CoapMessage } from './message.js';
import { type CoapConfig, coapDescriptor } from './schema.js';

/** The module the catalogue loads. */
export const coapGateway: GatewayModule<CoapMessage, CoapConfig> = {
  ...coapDescriptor,
  createCodec: () => new CoapCodec(),
  createChannel: (ctx) => new CoapChannel(ctx),
};
