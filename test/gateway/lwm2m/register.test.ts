/**
 * The registration interface with a real LwM2M device over UDP: Register, Update, De-register, the JSON
 * reported on MQTT (EMQX's exact text), the command topic subscription, alternate paths, lifetime expiry,
 * re-registration, and bad registrations answered with defined codes, counted, the gateway unaffected.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { until } from '../helpers.js';
import { code, codeText, LOCATION_PATH, opts } from './device/coap.js';
import type { DeviceOptions } from './device/device.js';
import { lwm2mFixture } from './helpers.js';

describe('lwm2m: registration interface (real device)', () => {
  const f = lwm2mFixture({ lwm2m: { update_msg_publish_condition: 'contains_object_list' } });
  const device = (o: Omit<DeviceOptions, 'port'>) => f.open(o);
  const routes = () =>
    [...f.b.node.broker.registry.records('lwm2m')].flatMap((r) => [...r.session.subscriptions.keys()]);
  const dropped = () => f.b.node.gateways.get('lwm2m')!.metrics.get('packets.dropped');

  it('register ⇒ 2.01 + Location rd/<ep>, register JSON (sorted keys, secrets left out), command topic subscribed', async () => {
    const d = await device({ ep: 'dev-reg', lt: 345, query: ['password=public', 'secret=top'] });
    const from = f.app.ups.length;
    const r = await d.register([], '</1>, </2>, </3>, </4>, </5>');
    assert.equal(codeText(r.code), '2.01');
    assert.deepEqual(opts(r, LOCATION_PATH), ['rd', 'dev-reg']);
    const reg = await f.app.answer('register', undefined, from);
    assert.equal(reg.topic, 'lwm2m/dev-reg/up/resp');
    assert.equal(
      reg.text,
      '{"data":{"alternatePath":"/","b":"U","ep":"dev-reg","lt":345,"lwm2m":"1.0","objectList":["/1","/2","/3","/4","/5"]},"msgType":"register"}',
    );
    await until(() => routes().includes('lwm2m/dev-reg/dn/#'), 3000, 'command subscription');

    // An update without an object list is not reported (contains_object_list); one with it is.
    const u1 = await d.update(['lt=400']);
    assert.equal(codeText(u1.code), '2.04');
    const u2 = await d.update([], '</1/0>,</3/0>');
    assert.equal(codeText(u2.code), '2.04');
    const upd = await f.app.answer('update', undefined, from);
    assert.deepEqual(upd.json.data, {
      alternatePath: '/',
      b: 'U',
      ep: 'dev-reg',
      lt: 400,
      lwm2m: '1.0',
      objectList: ['/1/0', '/3/0'],
    });
    assert.equal(f.app.ups.slice(from).filter((u) => u.json.msgType === 'update').length, 1);

    const del = await d.deregister();
    assert.equal(codeText(del.code), '2.02');
    await until(() => !routes().includes('lwm2m/dev-reg/dn/#'), 3000, 'unsubscribed');
  });

  it('alternate path: rt="oma.lwm2m" is left out of the object list and prefixes downlink paths', async () => {
    const d = await device({ ep: 'dev-alt', altPath: '/lwm2m' });
    const from = f.app.ups.length;
    assert.equal(codeText((await d.register()).code), '2.01');
    const reg = await f.app.answer('register', undefined, from);
    assert.equal(reg.json.data?.alternatePath, '/lwm2m');
    assert.deepEqual(reg.json.data?.objectList, ['/1/0', '/3/0']);
    await until(() => routes().includes('lwm2m/dev-alt/dn/#'), 3000, 'command subscription');
    await f.app.command('dev-alt', { reqID: 1, msgType: 'read', data: { path: '/3/0/1' } });
    const req = await d.nextRequest();
    assert.deepEqual(opts(req, 11), ['lwm2m', '3', '0', '1']);
    const ans = await f.app.answer('read', 1, from);
    assert.deepEqual((ans.json.data as { content: unknown }).content, [{ path: '/3/0/1', value: 'TD-1' }]);
    await d.deregister();
  });

  it('re-registration on a live connection is reported as register; a 1.1 device registers too', async () => {
    const d = await device({ ep: 'dev-again', version: '1.1' });
    const from = f.app.ups.length;
    await d.register();
    const again = await d.register();
    assert.equal(codeText(again.code), '2.01');
    await until(
      () => f.app.ups.slice(from).filter((u) => u.json.msgType === 'register').length === 2,
      3000,
      'two register messages',
    );
    assert.equal(f.app.ups.slice(from).find((u) => u.json.msgType === 'register')?.json.data?.lwm2m, '1.1');
    await d.deregister();
  });

  it('lifetime expiry closes the client (lt=1 s)', async () => {
    const d = await device({ ep: 'dev-lt', lt: 1 });
    await d.register();
    await until(() => f.b.node.broker.registry.get('lwm2m', 'dev-lt') !== undefined, 3000, 'client');
    await until(() => f.b.node.broker.registry.get('lwm2m', 'dev-lt') === undefined, 6000, 'expiry');
  });

  it('bad registrations get 4.00 / 4.04 / 4.05, are counted, and nothing registers', async () => {
    const d = await device({ ep: 'bad' });
    const ask = async (path: string[], query: string[], payload = '', method = '0.02') =>
      codeText((await d.request(code(method), path, query, payload)).code);
    const before = dropped();
    assert.equal(await ask(['rd'], ['lt=60', 'lwm2m=1.0']), '4.00'); // no ep
    assert.equal(await ask(['rd'], ['ep=bad', 'lwm2m=1.0']), '4.00'); // no lt
    assert.equal(await ask(['rd'], ['ep=bad', 'lt=abc']), '4.00');
    assert.equal(await ask(['rd'], ['ep=bad', 'lt=60', 'lwm2m=2.0']), '4.00');
    assert.equal(await ask(['rd'], ['ep=bad', 'lt=60'], '<<<garbage,,;;"'), '4.00');
    assert.equal(await ask(['rd', 'nobody'], ['lt=60']), '4.04'); // update of an unknown registration
    assert.equal(await ask(['rd', 'nobody'], [], '', '0.04'), '4.04');
    assert.equal(await ask(['other'], []), '4.04');
    assert.equal(await ask(['rd'], [], '', '0.01'), '4.05');
    assert.ok(dropped() >= before + 9);
    assert.equal(f.b.node.broker.registry.get('lwm2m', 'bad'), undefined);
    // Garbage datagrams: a malformed CON gets a Reset, the gateway stays up.
    d.sendRaw(Buffer.from([0x40, 0x02, 0x12, 0x34, 0xff]));
    d.sendRaw(Buffer.from([0xff, 0xff]));
    const ok = await d.register();
    assert.equal(codeText(ok.code), '2.01');
    await d.deregister();
  });

  it('hooks: client.connect first, connected on register, disconnected on de-register', async () => {
    const seen: string[] = [];
    const offs = [
      f.b.node.hooks.add('client.connect', (ci) => {
        if (ci.clientid === 'dev-hooks') seen.push('connect');
        return undefined;
      }),
      f.b.node.hooks.add('client.connected', (ci) => {
        if (ci.clientid === 'dev-hooks') seen.push(`connected ${String(ci.endpoint_name)}`);
      }),
      f.b.node.hooks.add('client.disconnected', (ci, reason) => {
        if (ci.clientid === 'dev-hooks') seen.push(`disconnected ${reason}`);
      }),
    ];
    try {
      const d = await device({ ep: 'dev-hooks' });
      await d.register();
      await until(() => seen.length === 2, 3000, 'connected');
      await d.deregister();
      await until(() => seen.length === 3, 3000, 'disconnected');
      assert.deepEqual(seen, ['connect', 'connected dev-hooks', 'disconnected normal']);
    } finally {
      for (const off of offs) off();
    }
  });

  it('authorization: a denied command topic is not subscribed, a denied uplink is not published', async () => {
    const off = f.b.node.hooks.add('client.authorize', (ci, action, topic) =>
      (ci.endpoint_name === 'dev-nosub' && action.action_type === 'subscribe') ||
      (ci.endpoint_name === 'dev-noup' && topic.startsWith('up/'))
        ? { stop: { result: 'deny', from: 'test' } }
        : undefined,
    );
    try {
      const from = f.app.ups.length;
      const a = await device({ ep: 'dev-nosub' });
      assert.equal(codeText((await a.register()).code), '2.01');
      const c = await device({ ep: 'dev-noup' });
      assert.equal(codeText((await c.register()).code), '2.01');
      await f.commandSubscribed('dev-noup');
      await f.app.answer('register', undefined, from);
      // Only this test's devices: an earlier test's uplink may still be on its way to the app client.
      assert.deepEqual(
        f.app.ups
          .slice(from)
          .map((u) => u.topic)
          .filter((t) => t.startsWith('lwm2m/dev-no')),
        ['lwm2m/dev-nosub/up/resp'],
      );
      assert.ok(!routes().includes('lwm2m/dev-nosub/dn/#'));
      assert.ok(f.b.node.gateways.get('lwm2m')!.metrics.get('client.authz.deny') >= 2);
      await a.deregister();
      await c.deregister();
    } finally {
      off();
    }
  });

  it('a second registration of a live endpoint from another address takes over; the old address is forgotten', async () => {
    const a = await device({ ep: 'dev-moved' });
    assert.equal(codeText((await a.register()).code), '2.01');
    await f.commandSubscribed('dev-moved');
    const first = f.b.node.broker.registry.get('lwm2m', 'dev-moved')!.session;
    const b = await device({ ep: 'dev-moved' });
    assert.equal(codeText((await b.register()).code), '2.01');
    await until(
      () => f.b.node.broker.registry.get('lwm2m', 'dev-moved')?.session !== first,
      3000,
      'takeover',
    );
    await f.commandSubscribed('dev-moved');
    assert.equal(codeText((await a.update()).code), '4.04');
    assert.equal(codeText((await b.update()).code), '2.04');
    await b.deregister();
  });

  it('an object list sent in Block1 blocks is reassembled (2.31 Continue per block, then 2.01)', async () => {
    const d = await device({ ep: 'dev-blocks' });
    for (let i = 0; i < 6; i++) d.tree.set(3300 + i, new Map([[0, new Map()]]));
    const from = f.app.ups.length;
    const r = await d.registerInBlocks(0); // 16-byte blocks
    assert.equal(codeText(r.code), '2.01');
    const reg = await f.app.answer('register', undefined, from);
    assert.deepEqual(reg.json.data?.objectList, [
      '/1/0',
      '/3/0',
      '/3300/0',
      '/3301/0',
      '/3302/0',
      '/3303/0',
      '/3304/0',
      '/3305/0',
    ]);
    await d.deregister();
  });
});
