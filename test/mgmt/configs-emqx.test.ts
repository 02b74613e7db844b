/**
 * The config API as EMQX has it: GET /configs as HOCON or JSON, PUT /configs with a HOCON document,
 * configs_reset, global_zone, EMQX-only roots (sysmon, limiter, broker), alarm settings applied live,
 * listeners_status, alarms/force_deactivate and the Prometheus settings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseHocon } from '../../src/config/hocon/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, sleep, subscribe } from '../helpers/clients.js';
import { type ApiClient, adminClient } from './http.js';

describe('config API (EMQX 5.8 endpoints)', () => {
  let b: TestBroker;
  let api: ApiClient;

  before(async () => {
    b = await startBroker({ api: true, tempDataDir: true });
    api = await adminClient(b);
  });
  after(() => b.stop());

  /** PUT /configs with a HOCON body. */
  const putHocon = (text: string, query = '') =>
    api.req('PUT', `/api/v5/configs${query}`, { raw: text, contentType: 'text/plain' });

  it('GET /configs is HOCON by default and JSON when asked, both the same config', async () => {
    const text = await api.get('/configs');
    assert.equal(text.status, 200);
    assert.match(text.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(text.text, /^mqtt \{$/m);
    const json = await api.get('/configs', { accept: 'application/json' });
    assert.equal(json.status, 200);
    const parsed = parseHocon(text.text);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value, json.body);
    const one = await api.get('/configs?key=mqtt', { accept: 'application/json' });
    assert.deepEqual(Object.keys(one.body), ['mqtt']);
    const bad = await api.get('/configs', { accept: 'image/png' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'INVALID_ACCEPT');
    assert.equal((await api.get('/configs?key=nosuch')).status, 404);
  });

  it('PUT /configs merges a HOCON document, all or nothing, and reads back what GET gives', async () => {
    const ok = await putHocon('mqtt.max_inflight = 9\nsysmon.vm.long_gc = 1s\n');
    assert.equal(ok.status, 200, ok.text);
    const mqtt = (await api.get('/configs/mqtt')).body;
    assert.equal(mqtt.max_inflight, 9);
    assert.equal(mqtt.max_mqueue_len, 1000, 'merge keeps the other keys');
    const sysmon = (await api.get('/configs/sysmon')).body;
    assert.equal(sysmon.vm.long_gc, '1s');
    assert.equal(sysmon.os.cpu_check_interval, '60s', "EMQX's defaults are shown for the rest");

    const typo = await putHocon('mqtt.max_inflight = 3\nmqtt.max_inflite = 1\n');
    assert.equal(typo.status, 400);
    assert.equal(typo.body.code, 'UPDATE_FAILED');
    assert.match(typo.body.message, /mqtt\.max_inflite: unknown key/);
    assert.equal((await api.get('/configs/mqtt')).body.max_inflight, 9, 'nothing was applied');
    assert.equal((await putHocon('mqtt {')).status, 400, 'a syntax error');
    assert.equal((await putHocon('nosuchroot.x = 1\n')).status, 400);

    // Read-only roots: unchanged ones are skipped, a change is refused unless ignore_readonly.
    const whole = (await api.get('/configs')).text;
    assert.equal((await putHocon(whole)).status, 200, 'a GET /configs document loads back');
    const node = await putHocon('node.name = "other@host"\n');
    assert.equal(node.status, 400);
    assert.match(node.body.message, /node is read-only/);
    assert.equal((await putHocon('node.name = "other@host"\n', '?ignore_readonly=true')).status, 200);
    assert.equal(b.node.name, 'hermod@127.0.0.1');

    const replaced = await putHocon('mqtt { max_inflight = 5 }\n', '?mode=replace');
    assert.equal(replaced.status, 200);
    const after = (await api.get('/configs/mqtt')).body;
    assert.equal(after.max_inflight, 5);
  });

  it('configs_reset puts a root key, or one key below it, back to its default', async () => {
    assert.equal((await api.put('/configs/mqtt', { max_inflight: 4, max_mqueue_len: 10 })).status, 200);
    const one = await api.post('/configs_reset/mqtt?conf_path=max_inflight');
    assert.equal(one.status, 200);
    let mqtt = (await api.get('/configs/mqtt')).body;
    assert.equal(mqtt.max_inflight, 32);
    assert.equal(mqtt.max_mqueue_len, 10);
    const unset = await api.post('/configs_reset/mqtt?conf_path=max_inflight');
    assert.equal(unset.status, 400);
    assert.equal(unset.body.code, 'NO_DEFAULT_VALUE');
    assert.equal((await api.post('/configs_reset/mqtt')).status, 200);
    mqtt = (await api.get('/configs/mqtt')).body;
    assert.equal(mqtt.max_mqueue_len, 1000);
    assert.equal((await api.post('/configs_reset/nosuch')).status, 404);
    assert.equal((await api.post('/configs_reset/node')).body.code, 'REST_FAILED');
  });

  it('global_zone shows and changes the zone-level roots', async () => {
    const zone = await api.get('/configs/global_zone');
    assert.equal(zone.status, 200);
    assert.equal(zone.body.mqtt.max_inflight, 32);
    assert.deepEqual(zone.body.force_gc, { count: 16000, bytes: '16MB' });
    const put = await api.put('/configs/global_zone', { mqtt: { ...zone.body.mqtt, max_inflight: 11 } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.mqtt.max_inflight, 11);
    assert.equal(b.node.config.mqtt.max_inflight, 11);
    assert.equal((await api.put('/configs/global_zone', { retainer: {} })).status, 400);
  });

  it('EMQX-only roots are kept and listed as unsupported; typos in them are refused', async () => {
    const limiter = await api.put('/configs/limiter', { max_conn_rate: '1000/s' });
    assert.equal(limiter.status, 200, limiter.text);
    assert.equal((await api.get('/configs/limiter')).body.max_conn_rate, '1000/s');
    assert.equal((await api.put('/configs/broker', { enable_session_registry: true })).status, 200);
    const typo = await api.put('/configs/limiter', { max_con_rate: '1/s' });
    assert.equal(typo.status, 400);
    assert.match(typo.body.message, /limiter\.max_con_rate: unknown key/);
    const list = await api.get('/configs_unsupported');
    const paths = list.body.map((r: { path: string }) => r.path);
    for (const p of ['sysmon.vm.long_gc', 'limiter.max_conn_rate', 'broker.enable_session_registry'])
      assert.ok(paths.includes(p), p);
    assert.ok(!paths.some((p: string) => p.startsWith('mqtt.')), 'implemented keys are not listed');
    const gc = list.body.find((r: { path: string }) => r.path === 'sysmon.vm.long_gc');
    assert.equal(gc.message, 'sysmon.vm.long_gc: accepted for EMQX compatibility, not implemented');
  });

  it('alarm settings apply at once: size_limit trims the history, actions without publish stay off $SYS', async () => {
    const alarm = await api.get('/configs/alarm');
    assert.deepEqual(alarm.body, { actions: ['log', 'publish'], size_limit: 1000, validity_period: '1d' });
    assert.equal((await api.put('/configs/alarm', { size_limit: 2, actions: ['log'] })).status, 200);
    const watcher = await connectClient(b.port);
    const got = collect(watcher);
    await subscribe(watcher, '$SYS/brokers/+/alarms/#');
    const alarms = b.node.mgmt!.ctx.alarms;
    for (const name of ['a1', 'a2', 'a3']) {
      alarms.activate(name);
      alarms.deactivate(name);
    }
    assert.deepEqual(
      alarms.deactivated().map((a) => a.name),
      ['a2', 'a3'],
    );
    await sleep(100);
    assert.equal(got.messages.length, 0, 'no $SYS alarm messages without the publish action');
    assert.equal((await api.put('/configs/alarm', { size_limit: 0 })).status, 400);
    assert.equal((await api.put('/configs/alarm', {})).status, 200);
    await end(watcher);
  });

  it('alarms/force_deactivate clears an active alarm by name', async () => {
    const alarms = b.node.mgmt!.ctx.alarms;
    alarms.activate('stuck', {}, 'stuck alarm');
    assert.equal((await api.post('/alarms/force_deactivate', { name: 'stuck' })).status, 204);
    assert.equal(alarms.activated().length, 0);
    const again = await api.post('/alarms/force_deactivate', { name: 'stuck' });
    assert.equal(again.status, 404);
    assert.equal(again.body.code, 'NOT_FOUND');
    assert.equal((await api.post('/alarms/force_deactivate', {})).status, 400);
  });

  it('listeners_status groups the listeners by type with live counts', async () => {
    const c = await connectClient(b.port);
    const r = await api.get('/listeners_status');
    assert.equal(r.status, 200);
    const tcp = r.body.find((g: { type: string }) => g.type === 'tcp');
    assert.deepEqual(tcp.ids, ['tcp:default']);
    assert.equal(tcp.enable, true);
    assert.equal(tcp.status.running, true);
    assert.equal(tcp.status.current_connections, 1);
    assert.equal(tcp.status.max_connections, 'infinity');
    assert.deepEqual(tcp.node_status, [{ node: 'hermod@127.0.0.1', status: tcp.status }]);
    const ws = r.body.find((g: { type: string }) => g.type === 'ws');
    assert.equal(ws.enable, false);
    assert.equal(ws.status.running, false);
    await end(c);
  });

  it('prometheus settings show EMQX defaults and keep changes; /prometheus/auth exposes the auth counters', async () => {
    const get = await api.get('/prometheus');
    assert.equal(get.body.enable_basic_auth, false);
    assert.equal(get.body.push_gateway.url, 'http://127.0.0.1:9091');
    const put = await api.put('/prometheus', { enable_basic_auth: true });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.enable_basic_auth, true);
    assert.equal(put.body.push_gateway.enable, false);
    const c = await connectClient(b.port);
    await end(c);
    const auth = await api.get('/prometheus/auth');
    assert.match(auth.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(auth.text, /^emqx_authentication_success \d+$/m);
    const json = await api.get('/prometheus/auth', { accept: 'application/json' });
    assert.equal(typeof json.body['authentication.success'], 'number');
  });
});
