/**
 * Publishing a client's will: authorized like any publish from that client, mounted on its mountpoint,
 * carrying the will properties (minus the delay, which only concerned the broker).
 */
import { Message } from '../broker/message.js';
import { mount } from '../broker/topic.js';
import type { ClientInfo } from '../broker/types.js';
import { logger } from '../log.js';
import type { Will } from './codec/packets.js';
import type { MqttHost } from './host.js';

/** Publishes `will` on behalf of `client` (whose connection is gone). */
export function publishWill(host: MqttHost, client: ClientInfo, will: Will): void {
  const send = (allowed: boolean) => {
    if (!allowed) {
      logger.info(
        { clientid: client.clientid, topic: will.topic },
        'mqtt: will message not authorized; dropped',
      );
      return;
    }
    const { willDelayInterval: _delay, ...props } = will.properties ?? {};
    const msg = new Message(
      mount(client.mountpoint, will.topic),
      will.payload,
      will.qos,
      client.clientid,
      will.retain,
      Object.keys(props).length > 0 ? props : undefined,
      { username: client.username, peerhost: client.peerhost, protocol: 'mqtt' },
    );
    void host.broker.publish(msg);
  };
  const r = host.access.authorize(
    client,
    { action_type: 'publish', qos: will.qos, retain: will.retain },
    will.topic,
  );
  if (r instanceof Promise) void r.then(send);
  else send(r);
}
