/** LwM2M test helpers: a broker with the LwM2M gateway on a free UDP port, and an MQTT application. */
import type { MqttClient } from 'mqtt';
import { merge, type RawConfig, startBroker, type TestBroker } from '../../helpers/broker.js';
import { connectClient } from '../../helpers/clients.js';
import { gatewayPort } from '../helpers.js';

export type Lwm2mBroker = TestBroker & { lwm2mPort: number };

/** Starts a broker with `gateway.lwm2m` on a loopback udp port (lifetime_min 1s so tests can expire). */
export async function startLwm2mBroker(
  opts: { lwm2m?: RawConfig; config?: RawConfig; api?: boolean; tempDataDir?: boolean } = {},
): Promise<Lwm2mBroker> {
  const lwm2m = merge(
    { lifetime_min: '1s', listeners: { udp: { default: { bind: '127.0.0.1:0' } } } },
    opts.lwm2m ?? {},
  );
  const b = await startBroker({
    api: opts.api,
    tempDataDir: opts.tempDataDir,
    config: merge({ gateway: { lwm2m } }, opts.config ?? {}),
  });
  return Object.assign(b, { lwm2mPort: gatewayPort(b.node, 'lwm2m:udp:default') });
}

/** A JSON message the gateway published. */
export interface Up {
  topic: string;
  text: string;
  json: Record<string, unknown> & { msgType?: string; data?: Record<string, unknown> };
}

/** An MQTT application managing devices through the JSON topics (`lwm2m/<ep>/dn/dm`, `…/up/#`). */
export class App {
  readonly ups: Up[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      const text = payload.toString();
      let json: Up['json'] = {};
      try {
        json = JSON.parse(text) as Up['json'];
      } catch {}
      this.ups.push({ topic, text, json });
    });
  }

  static async open(port: number, filter = 'lwm2m/+/up/#'): Promise<App> {
    const client = await connectClient(port, { protocolVersion: 5 });
    await client.subscribeAsync(filter, { qos: 1 });
    return new App(client);
  }

  /** Publishes a command to a device (an object is sent as JSON, a string as it is). */
  async command(
    ep: string,
    cmd: unknown,
    opts: { topic?: string; properties?: Record<string, unknown> } = {},
  ) {
    const payload = typeof cmd === 'string' ? cmd : JSON.stringify(cmd);
    await this.client.publishAsync(opts.topic ?? `lwm2m/${ep}/dn/dm`, payload, {
      qos: 1,
      properties: opts.properties,
    });
  }

  /** Waits for the first message (at index ≥ from) matching `pred`. */
  async next(pred: (u: Up) => boolean, timeoutMs = 5000, from = 0): Promise<Up> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.ups.slice(from).find(pred);
      if (hit !== undefined) return hit;
      if (Date.now() > end)
        throw new Error(
          `no matching MQTT message; got ${this.ups.map((u) => `${u.topic} ${u.text}`).join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits for the answer of a command with this msgType (and reqID when given). */
  answer(msgType: string, reqID?: number, from = 0, timeoutMs = 5000): Promise<Up> {
    return this.next(
      (u) => u.json.msgType === msgType && (reqID === undefined || u.json.reqID === reqID),
      timeoutMs,
      from,
    );
  }

  close(): Promise<void> {
    return this.client.endAsync();
  }
}
