/**
 * The LwM2M device as the management side sees it, with a real device over UDP: EMQX's LwM2M API
 * (lookup, read, write, observe), the clients API with the LwM2M extras, kick, `hermod ctl
 * gateway-clients list lwm2m`, gateway metrics, and authentication of registrations (imei/password).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { hermod } from '../../helpers/cli.js';
import { type ApiClient, adminClient } from '../../mgmt/http.js';
import { until } from '../helpers.js';
import { codeText, OBSERVE, opt, readUint } from './device/coap.js';
import { describe as text } from './device/device.js';
import { lwm2mFixture } from './helpers.js';

describe('lwm2m: API, client listing, ctl, authentication (real device)', () => {
  const f = lwm2mFixture({ api: true, tempDataDir: true });
  let api: ApiClient;
  const registered = (ep: string, query: string[] = []) => f.registered({ ep, lt: 120, query });

  before(async () => {
    api = await adminClient(f.b);
  });

  it('lookup before any command ⇒ 6.01 reply_not_received; read via API, then lookup shows the result', async () => {
    const { d } = await registered('api-dev');
    const base = '/gateways/lwm2m/clients/api-dev';
    const none = await api.get(`${base}/lookup?path=/3/0/0&action=read`);
    assert.equal(none.status, 200);
    assert.deepEqual(none.body, {
      clientid: 'api-dev',
      path: '/3/0/0',
      action: 'read',
      code: '6.01',
      codeMsg: 'reply_not_received',
    });
    const from = f.app.ups.length;
    assert.equal((await api.post(`${base}/read?path=/3/0/0`)).status, 204);
    await f.app.answer('read', undefined, from);
    const got = await api.get(`${base}/lookup?path=/3/0/0&action=read`);
    assert.deepEqual(got.body, {
      clientid: 'api-dev',
      path: '/3/0/0',
      action: 'read',
      code: '2.05',
      codeMsg: 'content',
      content: [{ path: '/3/0/0', value: 'Hermod Test Devices' }],
    });

    // write through the API, read back through MQTT
    assert.equal((await api.post(`${base}/write?path=/3/0/14&type=String&value=%2B05:00`)).status, 204);
    await f.app.answer('write', undefined, from);
    assert.equal(text(d.requests.at(-1)!), '0.03 /3/0/14');
    assert.equal((await api.post(`${base}/write?path=/3/0/14&type=Nope&value=1`)).status, 400);

    // discover, described from the object definitions
    await f.app.command('api-dev', { msgType: 'discover', data: { path: '/3/0' } });
    await f.app.answer('discover', undefined, from);
    const disc = await api.get(`${base}/lookup?path=/3/0&action=discover`);
    assert.equal(disc.body.code, '2.05', disc.text);
    assert.deepEqual(
      disc.body.content.find((c: { path: string }) => c.path === '/3/0/4'),
      { path: '/3/0/4', name: 'Reboot', operations: 'E' },
      disc.text,
    );
    assert.deepEqual(
      disc.body.content.find((c: { path: string }) => c.path === '/3/0/9'),
      { path: '/3/0/9', name: 'Battery Level', operations: 'R', dataType: 'Integer' },
    );

    // observe on / off
    assert.equal((await api.post(`${base}/observe?path=/3/0/9&enable=true`)).status, 204);
    const on = await d.nextRequest((m) => opt(m, OBSERVE) !== undefined && readUint(opt(m, OBSERVE)!) === 0);
    assert.equal(text(on), '0.01 /3/0/9');
    await f.app.answer('observe', undefined, from);
    assert.equal((await api.post(`${base}/observe?path=/3/0/9&enable=false`)).status, 204);
    const off = await d.nextRequest((m) => opt(m, OBSERVE) !== undefined && readUint(opt(m, OBSERVE)!) === 1);
    assert.equal(text(off), '0.01 /3/0/9');

    assert.equal((await api.get('/gateways/lwm2m/clients/nobody/lookup?path=/3/0&action=read')).status, 404);
    assert.equal((await api.post('/gateways/lwm2m/clients/nobody/read?path=/3/0')).status, 404);
    assert.equal((await api.get(`${base}/lookup?path=/3/0`)).status, 400);
    await d.deregister();
  });

  it('clients API shows endpoint_name, lifetime (= keepalive), binding and object list; ctl lists it; kick closes it', async () => {
    const { d } = await registered('list-dev');
    const c = (await api.get('/gateways/lwm2m/clients/list-dev')).body;
    assert.equal(c.endpoint_name, 'list-dev');
    assert.equal(c.lifetime, 120);
    assert.equal(c.keepalive, 120);
    assert.equal(c.binding, 'U');
    assert.deepEqual(c.object_list, ['/1/0', '/3/0']);
    assert.equal(c.proto_name, 'LwM2M');
    assert.equal(c.proto_ver, '1.0');
    assert.equal(c.username, 'list-dev');
    const found = (await api.get('/gateways/lwm2m/clients?like_endpoint_name=list&gte_lifetime=100')).body;
    assert.deepEqual(
      found.data.map((x: { clientid: string }) => x.clientid),
      ['list-dev'],
    );
    const ctl = await hermod(['ctl', '--data-dir', f.b.dataDir!, 'gateway-clients', 'list', 'lwm2m']);
    assert.equal(ctl.code, 0, ctl.stderr);
    assert.match(
      ctl.stdout,
      /Client\(list-dev, username=list-dev, .*keepalive=120, subscriptions=1, .*connected=true/,
    );
    // An Update with a new lifetime shows in the listing (lifetime and keepalive).
    assert.equal(codeText((await d.update(['lt=200'])).code), '2.04');
    const updated = (await api.get('/gateways/lwm2m/clients/list-dev')).body;
    assert.deepEqual([updated.lifetime, updated.keepalive], [200, 200]);
    const metrics = await hermod(['ctl', '--data-dir', f.b.dataDir!, 'gateway-metrics', 'lwm2m']);
    assert.match(metrics.stdout, /client\.connected\s+: [1-9]/);

    assert.equal((await api.del('/gateways/lwm2m/clients/list-dev')).status, 204);
    await until(() => f.b.node.broker.registry.get('lwm2m', 'list-dev') === undefined, 3000, 'kicked');
    // The device's next update finds no registration.
    assert.equal(codeText((await d.update()).code), '4.04');
  });

  it('authentication: imei is the username, password from the query; a refusal is 4.00 and nothing registers', async () => {
    const auth = { mechanism: 'password_based', backend: 'built_in_database' };
    assert.equal((await api.post('/gateways/lwm2m/authentication', auth)).status, 201);
    const user = { user_id: 'imei-1', password: 'pw1' };
    assert.equal((await api.post('/gateways/lwm2m/authentication/users', user)).status, 201);
    try {
      const bad = await registered('auth-dev', ['imei=imei-1', 'password=wrong']);
      assert.equal(codeText(bad.r.code), '4.00');
      assert.match(bad.r.payload.toString(), /^Login Failed/);
      assert.equal(f.b.node.broker.registry.get('lwm2m', 'auth-dev'), undefined);
      const good = await registered('auth-dev2', ['imei=imei-1', 'password=pw1']);
      assert.equal(codeText(good.r.code), '2.01');
      const c = (await api.get('/gateways/lwm2m/clients/auth-dev2')).body;
      assert.equal(c.username, 'imei-1');
      await good.d.deregister();
    } finally {
      await api.del('/gateways/lwm2m/authentication');
    }
  });

  it('authentication over HTTP (seed 000): the service sees imei and password, its answer decides', async () => {
    // A real HTTP authentication service: allows imei-http with password pw-http, denies the rest.
    const seen: Array<{ username: string; password: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const b = JSON.parse(body) as { username: string; password: string };
        seen.push(b);
        const allow = b.username === 'imei-http' && b.password === 'pw-http';
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ result: allow ? 'allow' : 'deny' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const auth = {
      mechanism: 'password_based',
      backend: 'http',
      method: 'post',
      url: `http://127.0.0.1:${port}/auth`,
      headers: { 'content-type': 'application/json' },
      body: { username: '${username}', password: '${password}' },
    };
    assert.equal((await api.post('/gateways/lwm2m/authentication', auth)).status, 201);
    try {
      const bad = await registered('http-dev', ['imei=imei-http', 'password=nope']);
      assert.equal(codeText(bad.r.code), '4.00');
      assert.equal(f.b.node.broker.registry.get('lwm2m', 'http-dev'), undefined);
      const good = await registered('http-dev2', ['imei=imei-http', 'password=pw-http']);
      assert.equal(codeText(good.r.code), '2.01');
      assert.equal((await api.get('/gateways/lwm2m/clients/http-dev2')).body.username, 'imei-http');
      assert.deepEqual(seen, [
        { username: 'imei-http', password: 'nope' },
        { username: 'imei-http', password: 'pw-http' },
      ]);
      await good.d.deregister();
    } finally {
      await api.del('/gateways/lwm2m/authentication');
      await new Promise((r) => server.close(r));
    }
  });

  it('xml_dir with a definition that does not parse: the gateway is refused, naming the file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hermod-lwm2m-xml-'));
    try {
      writeFileSync(
        join(dir, 'broken.xml'),
        '<LWM2M>\n  <Object>\n    <ObjectID>3303</ObjectID>\n  </Objekt>\n</LWM2M>\n',
      );
      assert.equal((await api.del('/gateways/lwm2m')).status, 204);
      const listeners = [{ type: 'udp', name: 'default', bind: '127.0.0.1:0' }];
      const bad = await api.put('/gateways/lwm2m', { xml_dir: dir, listeners });
      assert.equal(bad.status, 400, bad.text);
      assert.match(bad.body.message, /broken\.xml.*\b4\b|broken\.xml:4/);
      // With the file fixed the gateway loads.
      rmSync(join(dir, 'broken.xml'));
      assert.equal((await api.put('/gateways/lwm2m', { xml_dir: dir, listeners })).status, 204);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
