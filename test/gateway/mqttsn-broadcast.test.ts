/** ADVERTISE broadcasting (tested against a loopback target: tests never send to a real broadcast address). */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { Advertiser, advertiseFrame, broadcastTargets } from '../../src/gateway/mqttsn/broadcast.js';
import type { MqttSnConfig } from '../../src/gateway/mqttsn/schema.js';
import { logger } from '../../src/log.js';
import { decode, T } from './mqttsn-client/codec.js';

describe('mqttsn: ADVERTISE', () => {
  it("[Q] the duration field is the interval in seconds (spec §5.4.1), not EMQX 5.8.9's truncated ms", () => {
    const m = decode(advertiseFrame(3, 15 * 60 * 1000));
    assert.deepEqual([m.type, m.gwId, m.duration], [T.ADVERTISE, 3, 900]);
    assert.equal(m.raw.length, 5);
  });

  it("broadcast targets are the interfaces' broadcast addresses on port 1884", () => {
    const ts = broadcastTargets();
    assert.ok(ts.every((t) => t.port === 1884 && /^\d+\.\d+\.\d+\.\d+$/.test(t.host)));
    assert.ok(ts.some((t) => t.host === '127.255.255.255'));
  });

  it('sends at start and every interval while broadcast is on; stops when turned off', async () => {
    const sock = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    sock.on('message', (b) => got.push(b));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const port = sock.address().port;
    const config = { broadcast: true, gateway_id: 9 } as MqttSnConfig;
    const adv = new Advertiser({
      config,
      log: logger,
      targets: () => [{ host: '127.0.0.1', port }],
      intervalMs: 200,
    });
    try {
      const end = Date.now() + 5000;
      while (got.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.ok(got.length >= 2);
      assert.equal(decode(got[0]!).gwId, 9);
      adv.update({ ...config, broadcast: false } as MqttSnConfig);
      const n = got.length;
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(got.length <= n + 1);
    } finally {
      adv.stop();
      sock.close();
    }
  });
});
