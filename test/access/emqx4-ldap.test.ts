/** EMQX 3.x/4.x's LDAP plugin form, `user_dn = "uid=%u,ou=People,..."`, binding against a real OpenLDAP. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import type { ServerProcess } from '../helpers/servers/common.js';
import { LDAP_ADMIN, LDAP_ADMIN_PASSWORD, LDAP_BASE, startSlapd } from '../helpers/servers/slapd.js';
import { loginCode, RC } from './helpers.js';

describe('ldap: the EMQX 4.x user_dn bind', () => {
  let server: ServerProcess;
  let b: TestBroker;

  before(async () => {
    server = await startSlapd(
      `dn: ou=People,${LDAP_BASE}\nobjectClass: organizationalUnit\nou: People\n\n` +
        `dn: uid=dave,ou=People,${LDAP_BASE}\nobjectClass: inetOrgPerson\nuid: dave\ncn: dave\nsn: dave\n` +
        'userPassword: dave-pw\n\n',
    );
    b = await startBroker({
      config: {
        authentication: [
          {
            mechanism: 'password_based',
            backend: 'ldap',
            server: `127.0.0.1:${server.port}`,
            username: LDAP_ADMIN,
            password: LDAP_ADMIN_PASSWORD,
            user_dn: `uid=%u,ou=People,${LDAP_BASE}`,
          },
        ],
      },
    });
  });
  after(async () => {
    await b?.stop();
    await server?.stop();
  });

  it('binds as the user named by user_dn', async () => {
    assert.equal(await loginCode(b.port, { username: 'dave', password: 'dave-pw' }), RC.OK);
    assert.equal(await loginCode(b.port, { username: 'dave', password: 'wrong' }), RC.BAD_USER);
    // The username is an escaped filter value: it cannot widen the search.
    assert.notEqual(await loginCode(b.port, { username: '*', password: 'dave-pw' }), RC.OK);
    assert.notEqual(await loginCode(b.port, { username: 'dave)(uid=*', password: 'dave-pw' }), RC.OK);
  });
});
