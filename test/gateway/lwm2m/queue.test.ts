/**
 * Queue mode (binding UQ) with a real device that sleeps: commands published while it sleeps wait and are
 * sent after its next Update, stale ones (MQTT Message Expiry) are dropped; and auto_observe, which
 * observes the registered objects that have definitions (not the ignored 0, 1, 2, 4, 5, 6, 7, 9, 15).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { sleep, until } from '../helpers.js';
import { codeText, OBSERVE, opt } from './device/coap.js';
import { Lwm2mDevice, describe as text } from './device/device.js';
import { App, type Lwm2mBroker, startLwm2mBroker } from './helpers.js';

describe('lwm2m: queue mode and auto_observe (real device)', () => {
  let b: Lwm2mBroker;
  let app: App;
  const devices: Lwm2mDevice[] = [];
  const subscribed = (ep: string) =>
    until(
      () => b.node.broker.registry.get('lwm2m', ep)?.session.subscriptions.has(`lwm2m/${ep}/dn/#`) === true,
      3000,
      'command subscription',
    );

  before(async () => {
    b = await startLwm2mBroker({ lwm2m: { qmode_time_window: '1s', auto_observe: true } });
    app = await App.open(b.port);
  });
  afterEach(() => {
    for (const d of devices.splice(0)) d.close();
  });
  after(async () => {
    await app.close();
    await b.stop();
  });

  it('auto_observe: the device object /3/0 is observed after registration, /1/0 is not', async () => {
    const d = await Lwm2mDevice.open({ port: b.lwm2mPort, ep: 'auto-obs' });
    devices.push(d);
    const from = app.ups.length;
    await d.register();
    const obs = await d.nextRequest((m) => opt(m, OBSERVE) !== undefined);
    assert.equal(text(obs), '0.01 /3/0');
    const res = await app.answer('observe', undefined, from);
    assert.equal(res.json.is_auto_observe, true);
    d.set('/3/0/9', { kind: 'Integer', v: 55 });
    const n = await app.answer('notify', undefined, from);
    const content = (n.json.data as { content: Array<{ path: string; value: unknown }> }).content;
    assert.equal(content.find((c) => c.path === '/3/0/9')?.value, 55);
    await sleep(200);
    assert.ok(!d.requests.some((m) => text(m).startsWith('0.01 /1')));
    await d.deregister();
  });

  it('queue mode: commands wait while the device sleeps and go after its Update; expired ones are dropped', async () => {
    const d = await Lwm2mDevice.open({ port: b.lwm2mPort, ep: 'q-dev', binding: 'UQ' });
    devices.push(d);
    const from = app.ups.length;
    await d.register();
    await subscribed('q-dev');
    // Let the auto-observe of /3/0 finish before the device goes to sleep.
    await app.answer('observe', undefined, from);
    d.sleep();
    await sleep(1300); // past qmode_time_window
    const n0 = d.requests.length;
    await app.command('q-dev', { reqID: 1, msgType: 'read', data: { path: '/3/0/0' } });
    await app.command(
      'q-dev',
      { reqID: 2, msgType: 'read', data: { path: '/3/0/1' } },
      {
        properties: { messageExpiryInterval: 1 },
      },
    );
    await app.command('q-dev', { reqID: 3, msgType: 'read', data: { path: '/3/0/2' } });
    await sleep(1500); // reqID 2 expires meanwhile; nothing is sent to the sleeping device
    assert.equal(d.requests.length, n0);
    const dropped = b.node.gateways.get('lwm2m')!.metrics.get('messages.dropped');
    assert.equal(codeText((await d.wake()).code), '2.04');
    await app.answer('read', 3, from);
    assert.deepEqual(d.requests.slice(n0).map(text), ['0.01 /3/0/0', '0.01 /3/0/2']);
    assert.deepEqual(
      app.ups
        .slice(from)
        .filter((u) => u.json.msgType === 'read')
        .map((u) => u.json.reqID),
      [1, 3],
    );
    assert.equal(b.node.gateways.get('lwm2m')!.metrics.get('messages.dropped'), dropped + 1);
    // Awake (within the window), a command goes at once.
    await app.command('q-dev', { reqID: 4, msgType: 'read', data: { path: '/3/0/3' } });
    await app.answer('read', 4, from);
    await d.deregister();
  });
});
