import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { loginCode, RC } from './helpers.js';

const builtin = (over: Record<string, unknown> = {}) => ({
  mechanism: 'password_based',
  backend: 'built_in_database',
  ...over,
});

// The authentication service listens on client.authenticate only while an authenticator is enabled, so a
// CONNECT with nothing configured skips building a credential. What clients see must not change.
describe('authentication with no authenticator, then one, then none', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
  });
  after(() => b.stop());

  const anonymous = () => b.node.broker.metrics.c['client.auth.anonymous'];
  const authenticated = () => b.node.broker.metrics.c['client.authenticate'];

  it('lets everyone in as anonymous, counted, while no chain exists', async () => {
    assert.equal(b.node.hooks.has('client.authenticate'), false);
    const [anon0, auth0] = [anonymous(), authenticated()];
    assert.equal(await loginCode(b.port, { username: 'bob', password: 'whatever' }), RC.OK);
    assert.equal(await loginCode(b.port, {}), RC.OK);
    assert.equal(anonymous(), anon0 + 2);
    assert.equal(authenticated(), auth0 + 2);
  });

  it('enforces a chain as soon as it has an enabled authenticator', async () => {
    await b.node.authn.setChain('mqtt:global', [builtin()]);
    assert.equal(b.node.hooks.has('client.authenticate'), true);
    // An unknown user: no authenticator claims the client, and the chain refuses it.
    assert.equal(await loginCode(b.port, { username: 'bob', password: 'whatever' }), RC.NOT_AUTHORIZED);
    const users = b.node.authn.users('mqtt:global', 'password_based:built_in_database')!;
    await users.add({ user_id: 'bob', password: 'whatever' });
    assert.equal(await loginCode(b.port, { username: 'bob', password: 'wrong' }), RC.BAD_USER);
    assert.equal(await loginCode(b.port, { username: 'bob', password: 'whatever' }), RC.OK);
  });

  it('lets clients in again once the authenticator is disabled, then the chain removed', async () => {
    await b.node.authn.setChain('mqtt:global', [builtin({ enable: false })]);
    assert.equal(b.node.hooks.has('client.authenticate'), false);
    const anon0 = anonymous();
    assert.equal(await loginCode(b.port, { username: 'eve', password: 'nope' }), RC.OK);
    assert.equal(anonymous(), anon0 + 1);
    await b.node.authn.setChain('mqtt:global', [builtin()]);
    assert.equal(await loginCode(b.port, { username: 'eve', password: 'nope' }), RC.NOT_AUTHORIZED);
    await b.node.authn.deleteChain('mqtt:global');
    assert.equal(b.node.hooks.has('client.authenticate'), false);
    assert.equal(await loginCode(b.port, { username: 'eve', password: 'nope' }), RC.OK);
  });
});
