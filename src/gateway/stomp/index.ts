/** The STOMP gateway module: STOMP 1.0/1.1/1.2 over tcp and ssl (default port 61613). */
import type { GatewayModule } from '../types.js';
import { StompChannel } from './channel.js';
import { StompCodec, type StompFrame } from './frame.js';
import { type StompConfig, stompDescriptor } from './schema.js';

/** The module the catalogue loads. */
export const stompGateway: GatewayModule<StompFrame, StompConfig> = {
  ...stompDescriptor,
  createCodec: (config) =>
    new StompCodec({
      maxHeaders: config.frame.max_headers,
      maxHeadersLength: config.frame.max_headers_length,
      maxBodyLength: config.frame.max_body_length,
    }),
  createChannel: (ctx) => new StompChannel(ctx),
};
