/** EMQX 4.x's placeholder letters and one-string password_hash forms, read as their EMQX 5 equivalents. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { legacyAccess } from '../../src/access/compat/acl-rows.js';
import { legacyHashAlgorithm } from '../../src/access/compat/hash-forms.js';
import { parseLegacyParams } from '../../src/access/compat/http-params.js';
import { withLegacyUserDn } from '../../src/access/compat/ldap-user-dn.js';
import { translateLegacyPlaceholders } from '../../src/access/compat/legacy-placeholders.js';
import { legacyAclDocuments, withLegacyMongo } from '../../src/access/compat/mongo-forms.js';
import { compileSql, Template } from '../../src/access/template.js';

describe('EMQX 4.x placeholders', () => {
  it('reads every 4.x letter as its EMQX 5 name', () => {
    const t = new Template('%u %c %a %P %C %d %t %A');
    assert.deepEqual(t.vars, [
      'username',
      'clientid',
      'peerhost',
      'password',
      'cert_common_name',
      'cert_subject',
      'topic',
      'access',
    ]);
  });

  it('binds quoted 4.x placeholders as parameters', () => {
    const s = compileSql(
      "select password from mqtt_user where username = '%u' and clientid = '%c' limit 1",
      'postgresql',
    );
    assert.equal(s.sql, 'select password from mqtt_user where username = $1 and clientid = $2 limit 1');
    assert.deepEqual(s.params, ['username', 'clientid']);
    assert.equal(compileSql("where username = '$all'", 'mysql').sql, "where username = '$all'");
  });

  it('leaves text that only looks like a placeholder alone', () => {
    assert.equal(translateLegacyPlaceholders("where name like '%abc%'"), "where name like '%abc%'");
    assert.equal(translateLegacyPlaceholders('100%'), '100%');
    assert.equal(translateLegacyPlaceholders('%x %U'), '%x %U');
    assert.equal(translateLegacyPlaceholders('a/%u/#'), 'a/${username}/#');
  });

  it('changes nothing in a template without a 4.x placeholder (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const noLegacy = s.replace(/%/g, '');
        assert.equal(translateLegacyPlaceholders(noLegacy), noLegacy);
        // Whatever the text, the result has no 4.x placeholder left.
        assert.doesNotMatch(translateLegacyPlaceholders(s), /%[ucaPCdtA](?![A-Za-z0-9_])/);
      }),
    );
  });
});

describe('EMQX 4.x password_hash strings', () => {
  it('maps every form', () => {
    assert.deepEqual(legacyHashAlgorithm('sha256'), { name: 'sha256', salt_position: 'disable' });
    assert.deepEqual(legacyHashAlgorithm('plain'), { name: 'plain', salt_position: 'disable' });
    assert.deepEqual(legacyHashAlgorithm('salt sha256'), { name: 'sha256', salt_position: 'prefix' });
    assert.deepEqual(legacyHashAlgorithm('salt,md5'), { name: 'md5', salt_position: 'prefix' });
    assert.deepEqual(legacyHashAlgorithm('sha512 salt'), { name: 'sha512', salt_position: 'suffix' });
    assert.deepEqual(legacyHashAlgorithm('bcrypt'), { name: 'bcrypt' });
    assert.deepEqual(legacyHashAlgorithm('salt,bcrypt'), { name: 'bcrypt' });
    assert.deepEqual(legacyHashAlgorithm('pbkdf2,sha256,1000,20'), {
      name: 'pbkdf2',
      mac_fun: 'sha256',
      iterations: 1000,
      dk_length: 20,
    });
  });

  it('leaves unknown strings for validation to refuse', () => {
    for (const s of ['', 'sha3', 'salt', 'salt sha256 salt', 'pbkdf2,md4,1,1']) {
      assert.equal(legacyHashAlgorithm(s), undefined, s);
    }
  });

  it('reads the access numbers', () => {
    assert.equal(legacyAccess(1), 'subscribe');
    assert.equal(legacyAccess('2'), 'publish');
    assert.equal(legacyAccess(' 3 '), 'all');
    assert.equal(legacyAccess('4'), undefined);
    assert.equal(legacyAccess('publish'), undefined);
  });
});

describe('EMQX 4.x plugin config forms', () => {
  it('reads HTTP params', () => {
    assert.deepEqual(parseLegacyParams('clientid=%c,username=%u, password=%P'), {
      clientid: '%c',
      username: '%u',
      password: '%P',
    });
  });

  it('reads an LDAP user_dn as a search and bind', () => {
    assert.deepEqual(withLegacyUserDn({ backend: 'ldap', user_dn: 'uid=%u,ou=People,dc=example,dc=com' }), {
      backend: 'ldap',
      base_dn: 'ou=People,dc=example,dc=com',
      filter: '(uid=%u)',
      method: { type: 'bind' },
    });
    const notDn = { backend: 'ldap', user_dn: 'nonsense' };
    assert.equal(withLegacyUserDn(notDn), notDn);
  });

  // No MongoDB server can run on this machine (see mongodb.test.ts): the 4.x forms are checked as data.
  it("reads MongoDB's selector and field names", () => {
    assert.deepEqual(
      withLegacyMongo({
        mechanism: 'password_based',
        backend: 'mongodb',
        selector: 'username=%u',
        password_field: 'password',
        super_field: 'is_superuser',
      }),
      {
        mechanism: 'password_based',
        backend: 'mongodb',
        filter: { username: '%u' },
        password_hash_field: 'password',
        is_superuser_field: 'is_superuser',
      },
    );
    assert.deepEqual(withLegacyMongo({ type: 'mongodb', selector: 'username=%u, clientid=%c' }), {
      type: 'mongodb',
      filter: { username: '%u', clientid: '%c' },
    });
  });

  it("reads MongoDB's publish / subscribe / pubsub documents as allow rules", () => {
    const docs = [
      { username: 'u', publish: ['a/%u'], subscribe: [], pubsub: ['both/#'] },
      { permission: 'deny', action: 'all', topics: ['x'] },
    ];
    assert.deepEqual(legacyAclDocuments(docs), [
      { permission: 'allow', action: 'publish', topics: ['a/%u'] },
      { permission: 'allow', action: 'all', topics: ['both/#'] },
      { permission: 'deny', action: 'all', topics: ['x'] },
    ]);
  });
});
