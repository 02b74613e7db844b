/** LwM2M test helpers: a broker with the LwM2M gateway on a free UDP port, and an MQTT application. */
import { after, afterEach, before } from 'node:test';
import type { MqttClient } from 'mqtt';
import { merge, type RawConfig, startBroker, type TestBroker } from '../../helpers/broker.js';
import { connectClient } from '../../helpers/clients.js';
import { gatewayPort, until } from '../helpers.js';
import { codeText, type Msg } from './device/coap.js';
import { type DeviceOptions, Lwm2mDevice } from './device/device.js';

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

/**
 * One broker and one MQTT application for a test file (started before its tests, stopped after), and
 * devices opened on it (closed after each test).
 */
export function lwm2mFixture(start: Parameters<typeof startLwm2mBroker>[0] = {}) {
  const devices: Lwm2mDevice[] = [];
  const f = {
    b: undefined as unknown as Lwm2mBroker,
    app: undefined as unknown as App,
    /** A device on this broker's LwM2M port (not registered yet). */
    async open(o: Omit<DeviceOptions, 'port'>): Promise<Lwm2mDevice> {
      const d = await Lwm2mDevice.open({ port: f.b.lwm2mPort, ...o });
      devices.push(d);
      return d;
    },
    /** Waits until the gateway subscribed the device's command topic. */
    commandSubscribed(ep: string): Promise<void> {
      return until(
        () =>
          f.b.node.broker.registry.get('lwm2m', ep)?.session.subscriptions.has(`lwm2m/${ep}/dn/#`) === true,
        3000,
        'command subscription',
      );
    },
    /** A device that registered (and, when that worked, whose command topic is subscribed). */
    async registered(o: Omit<DeviceOptions, 'port'>): Promise<{ d: Lwm2mDevice; r: Msg }> {
      const d = await f.open(o);
      const r = await d.register();
      if (codeText(r.code) === '2.01') await f.commandSubscribed(o.ep);
      return { d, r };
    },
  };
  before(async () => {
    f.b = await startLwm2mBroker(start);
    f.app = await App.open(f.b.port);
  });
  afterEach(() => {
    for (const d of devices.splice(0)) d.close();
  });
  after(async () => {
    await f.app.close();
    await f.b.stop();
  });
  return f;
}
