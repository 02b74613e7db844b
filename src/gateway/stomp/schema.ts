/** `gateway.stomp { ... }`: the STOMP gateway's config (EMQX 5.8 keys and defaults, plus one Hermod key). */
import type { StaticDecode } from '@sinclair/typebox';
import { Duration, Int, Section } from '../../config/schema/fields.js';
import {
  type GatewayCommonConfig,
  GatewayEntry,
  gatewayCommonFields,
  gatewayListeners,
} from '../../config/schema/gateway-common.js';
import type { GatewayDescriptor } from '../types.js';

const Frame = Section(
  {
    max_headers: Int(10, 'Most headers a frame may carry.', { minimum: 1 }),
    max_headers_length: Int(1024, 'Longest header (name + value bytes).', { minimum: 1 }),
    max_body_length: Int(65536, 'Largest frame body in bytes.', { minimum: 0 }),
  },
  'Frame limits; a frame over one is answered with an ERROR frame and the connection closes.',
);

/** Schema of gateway.stomp. */
export const StompConfigSchema = GatewayEntry(
  {
    ...gatewayCommonFields({
      clientinfoOverride: { username: '${Packet.headers.login}', password: '${Packet.headers.passcode}' },
    }),
    frame: Frame,
    transaction_timeout: Duration('60s', {
      description: 'An open transaction older than this is aborted (EMQX sweeps them after 60s).',
      hermod: true,
    }),
    listeners: gatewayListeners({ tcp: 61613, ssl: 61614 }),
  },
  'The STOMP 1.0/1.1/1.2 gateway.',
);

/** The decoded STOMP gateway config. */
export type StompConfig = GatewayCommonConfig &
  Pick<StaticDecode<typeof StompConfigSchema>, 'frame' | 'transaction_timeout'>;

/** The STOMP 1.0/1.1/1.2 gateway's name, listener types and schema (no code: the config layer and listings read this). */
export const stompDescriptor: GatewayDescriptor = {
  name: 'stomp',
  protocol: 'stomp',
  description: 'STOMP 1.0/1.1/1.2 gateway',
  listenerTypes: ['tcp', 'ssl'],
  schema: StompConfigSchema,
};
