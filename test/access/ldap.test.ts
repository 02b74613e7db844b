import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, subscribe } from '../helpers/clients.js';
import type { ServerProcess } from '../helpers/servers/common.js';
import { LDAP_ADMIN, LDAP_ADMIN_PASSWORD, LDAP_BASE, startSlapd } from '../helpers/servers/slapd.js';
import { loginCode, loginEventually, RC } from './helpers.js';

function ssha(pw: string): string {
  const salt = randomBytes(8);
  return `{SSHA}${Buffer.concat([createHash('sha1').update(pw).update(salt).digest(), salt]).toString('base64')}`;
}
const sha256 = (pw: string) => `{SHA256}${createHash('sha256').update(pw).digest('base64')}`;

function person(uid: string, password: string, employeeType = 'user'): string {
  return `dn: uid=${uid},ou=people,${LDAP_BASE}
objectClass: inetOrgPerson
uid: ${uid}
cn: ${uid}
sn: ${uid}
employeeType: ${employeeType}
userPassword: ${password}

`;
}

describe('ldap: hash and bind methods against a real OpenLDAP', () => {
  let server: ServerProcess;
  let b: TestBroker;

  before(async () => {
    server = await startSlapd(
      `dn: ou=people,${LDAP_BASE}\nobjectClass: organizationalUnit\nou: people\n\n` +
        person('alice', ssha('alice-pw')) +
        person('bob', sha256('bob-pw')) +
        person('root', ssha('root-pw'), 'true') +
        person('carol', 'carol-plain'),
    );
    const conn = {
      server: `127.0.0.1:${server.port}`,
      username: LDAP_ADMIN,
      password: LDAP_ADMIN_PASSWORD,
      base_dn: `ou=people,${LDAP_BASE}`,
      filter: '(&(objectClass=inetOrgPerson)(uid=${username}))',
      query_timeout: '2s',
    };
    b = await startBroker({
      config: {
        authentication: [
          {
            mechanism: 'password_based',
            backend: 'ldap',
            ...conn,
            method: { type: 'hash', is_superuser_attribute: 'employeeType' },
          },
        ],
        listeners: {
          tcp: {
            bind: {
              bind: '127.0.0.1:0',
              authentication: [
                {
                  mechanism: 'password_based',
                  backend: 'ldap',
                  ...conn,
                  method: { type: 'bind', is_superuser_attribute: 'employeeType' },
                },
              ],
            },
          },
        },
        authorization: { no_match: 'deny', sources: [] },
      },
    });
  });
  after(async () => {
    await b?.stop();
    await server?.stop();
  });

  it('hash: checks {SSHA}, {SHA256} and plain userPassword values; superuser from an attribute', async () => {
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'alice-pw' }), RC.OK);
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'alice-px' }), RC.BAD_USER);
    assert.equal(await loginCode(b.port, { username: 'bob', password: 'bob-pw' }), RC.OK);
    assert.equal(await loginCode(b.port, { username: 'carol', password: 'carol-plain' }), RC.OK);
    assert.equal(await loginCode(b.port, { username: 'nobody', password: 'x' }), RC.NOT_AUTHORIZED);
    const root = await connectClient(b.port, { username: 'root', password: 'root-pw', protocolVersion: 5 });
    assert.equal((await subscribe(root, 'x/#', { qos: 0 }))[0]?.qos, 0);
    await end(root);
  });

  it('bind: lets the directory check the password', async () => {
    const port = b.node.port('tcp:bind');
    assert.equal(await loginCode(port, { username: 'alice', password: 'alice-pw' }), RC.OK);
    assert.equal(await loginCode(port, { username: 'alice', password: 'wrong' }), RC.BAD_USER);
    assert.equal(
      await loginCode(port, { username: 'alice', password: '' }),
      RC.BAD_USER,
      'an empty password is no anonymous bind',
    );
    assert.equal(await loginCode(port, { username: 'ghost', password: 'x' }), RC.NOT_AUTHORIZED);
  });

  it('escapes filter values: *)(uid=* and friends match no entry', async () => {
    for (const u of ['*', '*)(uid=*', 'alice)(|(uid=*', '*)(objectClass=*', 'al*', 'alice\\']) {
      assert.equal(await loginCode(b.port, { username: u, password: 'alice-pw' }), RC.NOT_AUTHORIZED, u);
      assert.equal(
        await loginCode(b.node.port('tcp:bind'), { username: u, password: 'alice-pw' }),
        RC.NOT_AUTHORIZED,
        u,
      );
    }
  });

  it('reports connected, and ignores with a log line when the directory is down', async () => {
    assert.equal((await b.node.authn.status('mqtt:global', 'password_based:ldap'))?.status, 'connected');
    await server.kill();
    assert.equal(await loginCode(b.port, { username: 'alice', password: 'alice-pw' }), RC.NOT_AUTHORIZED);
    assert.equal((await b.node.authn.status('mqtt:global', 'password_based:ldap'))?.status, 'disconnected');
    server = await server.restart();
    assert.equal(await loginEventually(b.port, { username: 'alice', password: 'alice-pw' }, RC.OK), RC.OK);
  });
});
