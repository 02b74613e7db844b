import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Connection } from '../../src/transport/connection.js';
import type { ListenerOptions } from '../../src/transport/listener.js';
import { DEFAULT_WEBSOCKET_OPTIONS } from '../../src/transport/ws.js';
import { fixture, type Harness, listenerOptions, Recorder, readFixture, startHarness } from './helpers.js';

// Just enough broker for a client to connect: CONNACK after the first CONNECT byte, a PUBACK for a QoS 1 PUBLISH.
function answerConnect(conn: Connection): Recorder {
  let connected = false;
  const rec = new Recorder();
  const onData = rec.onData.bind(rec);
  rec.onData = (chunk: Buffer) => {
    onData(chunk);
    if (!connected && chunk[0] === 0x10) {
      connected = true;
      conn.send(Buffer.from([0x20, 0x02, 0x00, 0x00]));
    }
  };
  conn.setHandler(rec);
  return rec;
}

function connected(client: MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
}

describe('mqtt.js against the listeners', () => {
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.stop();
  });

  const cases: Array<[ListenerOptions['type'], string, Partial<ListenerOptions>, IClientOptions]> = [
    ['tcp', 'mqtt', {}, {}],
    ['ws', 'ws', { ws: DEFAULT_WEBSOCKET_OPTIONS }, {}],
    [
      'ssl',
      'mqtts',
      {
        tls: {
          certfile: fixture('certs', 'server.pem'),
          keyfile: fixture('certs', 'server.key'),
          cacertfile: fixture('certs', 'ca.pem'),
          verify: 'verify_peer',
          failIfNoPeerCert: true,
        },
      },
      {
        ca: readFixture('certs', 'ca.pem'),
        key: readFixture('certs', 'client.key'),
        cert: readFixture('certs', 'client.pem'),
      },
    ],
  ];

  for (const [type, scheme, overrides, clientOpts] of cases) {
    it(`connects and disconnects over ${type}`, async () => {
      const h = await startHarness(listenerOptions(type, overrides));
      harnesses.push(h);
      const path = type === 'ws' ? '/mqtt' : '';
      const client = connect(`${scheme}://127.0.0.1:${h.port}${path}`, {
        reconnectPeriod: 0,
        clientId: `t-${type}`,
        ...clientOpts,
      });
      const ready = connected(client);
      const conn = await h.connection();
      const rec = answerConnect(conn);
      await ready;
      await client.endAsync();
      assert.equal(await rec.closed(), 'closed');
      // The last packet seen is the DISCONNECT (over ws mqtt.js may split it across two messages).
      assert.deepEqual(rec.received.subarray(-2), Buffer.from([0xe0, 0x00]));
    });
  }
});
