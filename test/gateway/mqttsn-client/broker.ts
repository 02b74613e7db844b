/** Brokers with the MQTT-SN gateway for tests: one udp listener on a free loopback port. */
import { merge, type RawConfig, startBroker, type TestBroker } from '../../helpers/broker.js';
import { gatewayPort } from '../helpers.js';

export type SnBroker = TestBroker & { snPort: number };

/** The predefined topics EMQX's suite uses. */
export const PREDEFINED = [
  { id: 1, topic: '/predefined/topic/name/hello' },
  { id: 2, topic: '/predefined/topic/name/nice' },
];

/** Starts a broker with `gateway.mqttsn` (EMQX suite settings merged with `sn`). */
export async function startSnBroker(
  sn: RawConfig = {},
  config: RawConfig = {},
  api = false,
): Promise<SnBroker> {
  const gw = merge(
    { gateway_id: 1, predefined: PREDEFINED, listeners: { udp: { default: { bind: '127.0.0.1:0' } } } },
    sn,
  );
  const b = await startBroker({ api, config: merge({ gateway: { mqttsn: gw } }, config) });
  return Object.assign(b, { snPort: gatewayPort(b.node, 'mqttsn:udp:default') });
}
