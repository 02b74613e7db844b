/**
 * GET /gateway_registry/:name/schema: what the dashboard builds its gateway forms from. Every gateway the
 * node has answers with its config schema (defaults included, listeners by allowed type) and the
 * authenticators it can use; an unknown name is a 400 with the list of names.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { type ApiClient, adminClient } from './http.js';

describe('gateway schema API', () => {
  let b: TestBroker;
  let api: ApiClient;
  before(async () => {
    b = await startBroker({ api: true });
    api = await adminClient(b);
  });
  after(async () => {
    await b?.stop();
  });

  it('serves every gateway its schema, listener types and authenticators', async () => {
    for (const m of b.node.gateways.modules()) {
      const r = await api.get(`/gateway_registry/${m.name}/schema`);
      assert.equal(r.status, 200, m.name);
      assert.equal(r.body.name, m.name);
      assert.deepEqual(r.body.listener_types, [...m.listenerTypes]);
      const listeners = r.body.schema.properties.listeners.properties;
      assert.deepEqual(Object.keys(listeners).sort(), [...m.listenerTypes].sort(), m.name);
      assert.equal(r.body.schema.properties.idle_timeout.default, '30s', m.name);
      assert.ok(r.body.authentication.length > 0, m.name);
      for (const a of r.body.authentication) assert.equal(a.schema.type, 'object', `${m.name} ${a.id}`);
    }
  });

  it('offers STOMP the password backends and JWT, MQTT-SN only HTTP, nobody SCRAM', async () => {
    const stomp = await api.get('/gateway_registry/stomp/schema');
    const ids = stomp.body.authentication.map((a: { id: string }) => a.id);
    for (const id of [
      'password_based:http',
      'password_based:built_in_database',
      'password_based:mysql',
      'jwt',
    ])
      assert.ok(ids.includes(id), id);
    assert.ok(!ids.some((id: string) => id.startsWith('scram')));
    const sn = await api.get('/gateway_registry/mqttsn/schema');
    assert.deepEqual(
      sn.body.authentication.map((a: { id: string }) => a.id),
      ['password_based:http'],
    );
  });

  it('answers an unknown gateway with 400 and the known names', async () => {
    const r = await api.get('/gateway_registry/nope/schema');
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'BAD_REQUEST');
    assert.match(r.body.message, /stomp/);
  });
});
