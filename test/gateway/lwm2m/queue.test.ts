/**
 * Queue mode (binding UQ) with a real device that sleeps: commands published while it sleeps wait and are
 * sent after its next Update, stale ones (MQTT Message Expiry) are dropped; and auto_observe, which
 * observes the registered objects that have definitions (not the ignored 0, 1, 2, 4, 5, 6, 7, 9, 15).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep } from '../helpers.js';
import { codeText, OBSERVE, opt } from './device/coap.js';
import { describe as text } from './device/device.js';
import { lwm2mFixture } from './helpers.js';

describe('lwm2m: queue mode and auto_observe (real device)', () => {
  const f = lwm2mFixture({ lwm2m: { qmode_time_window: '1s', auto_observe: true } });

  it('auto_observe: the device object /3/0 is observed after registration, /1/0 is not', async () => {
    const d = await f.open({ ep: 'auto-obs' });
    const from = f.app.ups.length;
    await d.register();
    const obs = await d.nextRequest((m) => opt(m, OBSERVE) !== undefined);
    assert.equal(text(obs), '0.01 /3/0');
    const res = await f.app.answer('observe', undefined, from);
    assert.equal(res.json.is_auto_observe, true);
    d.set('/3/0/9', { kind: 'Integer', v: 55 });
    const n = await f.app.answer('notify', undefined, from);
    const content = (n.json.data as { content: Array<{ path: string; value: unknown }> }).content;
    assert.equal(content.find((c) => c.path === '/3/0/9')?.value, 55);
    await sleep(200);
    assert.ok(!d.requests.some((m) => text(m).startsWith('0.01 /1')));
    await d.deregister();
  });

  it('queue mode: commands wait while the device sleeps and go after its Update; expired ones are dropped', async () => {
    const d = await f.open({ ep: 'q-dev', binding: 'UQ' });
    const from = f.app.ups.length;
    await d.register();
    await f.commandSubscribed('q-dev');
    // Let the auto-observe of /3/0 finish before the device goes to sleep.
    await f.app.answer('observe', undefined, from);
    d.sleep();
    await sleep(1300); // past qmode_time_window
    const n0 = d.requests.length;
    await f.app.command('q-dev', { reqID: 1, msgType: 'read', data: { path: '/3/0/0' } });
    await f.app.command(
      'q-dev',
      { reqID: 2, msgType: 'read', data: { path: '/3/0/1' } },
      {
        properties: { messageExpiryInterval: 1 },
      },
    );
    await f.app.command('q-dev', { reqID: 3, msgType: 'read', data: { path: '/3/0/2' } });
    await sleep(1500); // reqID 2 expires meanwhile; nothing is sent to the sleeping device
    assert.equal(d.requests.length, n0);
    const dropped = f.b.node.gateways.get('lwm2m')!.metrics.get('messages.dropped');
    assert.equal(codeText((await d.wake()).code), '2.04');
    await f.app.answer('read', 3, from);
    assert.deepEqual(d.requests.slice(n0).map(text), ['0.01 /3/0/0', '0.01 /3/0/2']);
    assert.deepEqual(
      f.app.ups
        .slice(from)
        .filter((u) => u.json.msgType === 'read')
        .map((u) => u.json.reqID),
      [1, 3],
    );
    assert.equal(f.b.node.gateways.get('lwm2m')!.metrics.get('messages.dropped'), dropped + 1);
    // Awake (within the window), a command goes at once.
    await f.app.command('q-dev', { reqID: 4, msgType: 'read', data: { path: '/3/0/3' } });
    await f.app.answer('read', 4, from);
    await d.deregister();
  });
});
