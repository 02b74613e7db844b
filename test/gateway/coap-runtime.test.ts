/**
 * The CoAP gateway managed at runtime as a new user would: loaded by one `PUT /api/v5/gateways/coap`,
 * clients listed and kicked with `hermod ctl`, hooks and $SYS-visible events, metrics, and disable
 * closing every client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { hermod } from '../helpers/cli.js';
import { collect, connectClient, run } from '../helpers/clients.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';
import { RawCoap } from './coap-helpers.js';
import { gatewayPort, until } from './helpers.js';

describe('coap: runtime management', () => {
  let b: TestBroker;
  let api: ApiClient;
  const ctl = (...args: string[]) => hermod(['ctl', '--data-dir', b.dataDir!, ...args]);
  const ok = async (...args: string[]) => {
    const r = await ctl(...args);
    assert.equal(r.code, 0, `hermod ctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  before(async () => {
    b = await startBroker({ api: true, tempDataDir: true });
    api = await adminClient(b);
  });
  after(() => b.stop());

  it('PUT /gateways/coap loads it; coap-client publishes; ctl lists and kicks; disable closes clients', async () => {
    const put = await api.put('/gateways/coap', {
      listeners: [{ type: 'udp', name: 'default', bind: '127.0.0.1:0' }],
    });
    assert.equal(put.status, 204, JSON.stringify(put.body));
    const port = gatewayPort(b.node, 'coap:udp:default');
    assert.match(await ok('gateway-registry', 'list'), /Registered Name: coap, Protocol: coap/);

    const events: string[] = [];
    const off = b.node.hooks.add('client.connected', (ci) => {
      if (ci.protocol === 'coap') events.push(ci.clientid);
    });
    const sys = await connectClient(b.port);
    const sysBox = collect(sys);
    await sys.subscribeAsync('$SYS/brokers/+/gateway/coap/clients/+/connected');

    const m = await connectClient(b.port);
    const box = collect(m);
    await m.subscribeAsync('rt/#');
    const r = await run('coap-client-notls', [
      '-m',
      'post',
      '-e',
      'up',
      `coap://127.0.0.1:${port}/ps/rt/x?c=cc-1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await box.next(1))[0]!.payload.toString(), 'up');
    assert.ok(events.includes('cc-1'));
    off();

    const c = await RawCoap.open(port);
    const token = (
      await c.ask({ code: '0.02', path: '/mqtt/connection', query: ['c=dev-9', 'u=carol'] })
    ).payload.toString();
    assert.match(token, /^\d+$/);
    assert.match(
      await ok('gateway-clients', 'list', 'coap'),
      /Client\(dev-9, username=carol, peername=127\.0\.0\.1:\d+/,
    );
    assert.equal(
      JSON.parse(await ok('--json', 'gateway-clients', 'lookup', 'coap', 'dev-9')).proto_name,
      'CoAP',
    );
    assert.equal((await ok('gateway-clients', 'kick', 'coap', 'dev-9')).trim(), 'ok');
    assert.equal((await ctl('gateway-clients', 'lookup', 'coap', 'dev-9')).code, 1);
    assert.match(await ok('gateway-metrics', 'coap'), /client\.connected\s+: [1-9]/);

    // A new connection, then disable: every client goes, the config stays.
    const c2 = await RawCoap.open(port);
    await c2.ask({ code: '0.02', path: '/mqtt/connection', query: ['c=dev-10'] });
    assert.ok(b.node.gateways.get('coap')!.connection('dev-10') !== undefined);
    assert.equal((await api.put('/gateways/coap/enable/false')).status, 204);
    await until(
      () => b.node.gateways.get('coap')?.connection('dev-10') === undefined,
      3000,
      'closed by disable',
    );
    assert.equal((await api.put('/gateways/coap/enable/true')).status, 204);
    assert.equal((await api.get('/gateways/coap')).body.status, 'running');
    // $SYS saw the connection events of this gateway.
    assert.ok(
      sysBox.messages.some((x) => x.topic.endsWith('/clients/dev-9/connected')),
      sysBox.messages.map((x) => x.topic).join(','),
    );
    // The gateway's own authenticator (built-in database), with a user added through the API.
    const authn = await api.post('/gateways/coap/authentication', {
      mechanism: 'password_based',
      backend: 'built_in_database',
    });
    assert.ok(authn.status < 300, JSON.stringify(authn.body));
    const user = await api.post('/gateways/coap/authentication/users', { user_id: 'dave', password: 'pw1' });
    assert.ok(user.status < 300, JSON.stringify(user.body));
    const c3 = await RawCoap.open(gatewayPort(b.node, 'coap:udp:default'));
    const refused = await c3.ask({
      code: '0.02',
      path: '/mqtt/connection',
      query: ['c=d1', 'u=dave', 'p=nope'],
    });
    assert.equal(refused.code, '4.01');
    const okLogin = await c3.ask({
      code: '0.02',
      path: '/mqtt/connection',
      query: ['c=d1', 'u=dave', 'p=pw1'],
    });
    assert.equal(okLogin.code, '2.01');
    c3.close();
    c.close();
    c2.close();
    await m.endAsync();
    await sys.endAsync();
  });
});
