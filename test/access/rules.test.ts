import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AclFileError, compileAclFile } from '../../src/access/authz/acl-file.js';
import { clientInfoAnswer } from '../../src/access/authz/client-info.js';
import { aclTopicMatch, firstMatch, rawRule } from '../../src/access/authz/rules.js';
import type { AuthzAction, ClientInfo } from '../../src/broker/types.js';

function client(over: Partial<ClientInfo> = {}): ClientInfo {
  return {
    node: 'n',
    clientid: 'c1',
    username: 'u1',
    peerhost: '10.1.2.3',
    peerport: 1,
    sockport: 1883,
    protocol: 'mqtt',
    mountpoint: '',
    listener: 'tcp:default',
    zone: 'default',
    is_superuser: false,
    anonymous: false,
    is_bridge: false,
    client_attrs: {},
    ...over,
  };
}
const pub = (qos: 0 | 1 | 2 = 0, retain = false): AuthzAction => ({ action_type: 'publish', qos, retain });
const sub = (qos: 0 | 1 | 2 = 0): AuthzAction => ({ action_type: 'subscribe', qos });

describe('acl.conf', () => {
  const shipped = compileAclFile(readFileSync('etc/acl.conf', 'utf8'));

  it('ships EMQX default rules: local clients do anything, others cannot subscribe to $SYS or #', () => {
    assert.equal(shipped.length, 4);
    const local = client({ peerhost: '127.0.0.1' });
    const remote = client();
    assert.equal(firstMatch(shipped, local, sub(), '#'), 'allow');
    assert.equal(firstMatch(shipped, local, sub(), '$SYS/brokers'), 'allow');
    assert.equal(firstMatch(shipped, client({ peerhost: '::ffff:127.0.0.1' }), sub(), '#'), 'allow');
    assert.equal(firstMatch(shipped, remote, sub(), '#'), 'deny');
    assert.equal(firstMatch(shipped, remote, sub(), '+/#'), 'deny');
    assert.equal(firstMatch(shipped, remote, sub(), '$SYS/brokers/x'), 'deny');
    assert.equal(firstMatch(shipped, remote, sub(), 'a/#'), 'allow');
    assert.equal(firstMatch(shipped, remote, pub(), '#'.replace('#', 'x')), 'allow');
    assert.equal(firstMatch(shipped, client({ username: 'dashboard' }), sub(), '$SYS/x'), 'allow');
  });

  it('parses who, actions with qos/retain, eq topics, placeholders, and/or, ipaddrs, client_attr', () => {
    const rules = compileAclFile(`
      %% comment
      {allow, {'and', [{user, "a"}, {client, {re, "^dev-"}}]}, {publish, [{qos, [0,1]}, {retain, false}]}, ["dev/\${clientid}/#"]}.
      {allow, {ipaddrs, ["192.168.0.0/16", "::1"]}, subscribe, [{eq, "t/#"}]}.
      {deny, {client_attr, "role", "guest"}, all, all}.
      {allow, {'or', [{username, "x"}, {clientid, "y"}]}, pub, [<<"bin/t">>]}.
    `);
    const a = client({ username: 'a', clientid: 'dev-1' });
    assert.equal(firstMatch(rules, a, pub(1), 'dev/dev-1/t'), 'allow');
    assert.equal(firstMatch(rules, a, pub(2), 'dev/dev-1/t'), undefined, 'qos 2 not allowed');
    assert.equal(firstMatch(rules, a, pub(1, true), 'dev/dev-1/t'), undefined, 'retain not allowed');
    assert.equal(
      firstMatch(rules, a, pub(1), 'dev/dev-2/t'),
      undefined,
      'placeholder renders the own clientid',
    );
    const lan = client({ peerhost: '192.168.4.5' });
    assert.equal(firstMatch(rules, lan, sub(), 't/#'), 'allow');
    assert.equal(firstMatch(rules, lan, sub(), 't/x'), undefined, 'eq is literal');
    assert.equal(
      firstMatch(rules, client({ client_attrs: { role: 'guest' } }), sub(), '$SYS/x'),
      'deny',
      'all matches $ topics',
    );
    assert.equal(firstMatch(rules, client({ username: 'z', clientid: 'y' }), pub(), 'bin/t'), 'allow');
  });

  it('reports errors with their line', () => {
    assert.throws(
      () => compileAclFile('{allow, all}.\n{allow, {user, "a"}, nonsense, ["t"]}.'),
      (e: unknown) => {
        assert.ok(e instanceof AclFileError);
        assert.equal(e.line, 2);
        return true;
      },
    );
    assert.throws(() => compileAclFile('{allow, all}'), AclFileError);
    assert.throws(() => compileAclFile('{maybe, all}.'), /permission/);
    assert.throws(() => compileAclFile('{allow, {ipaddr, "300.1.1.1"}, all, ["t"]}.'), /bad address/);
  });
});

describe('rule matching', () => {
  it('matches subscription filters only with equal or wider rule wildcards', () => {
    assert.equal(aclTopicMatch('a/+', 'a/b'), true);
    assert.equal(aclTopicMatch('a/+', 'a/+'), true);
    assert.equal(aclTopicMatch('a/+', 'a/#'), false);
    assert.equal(aclTopicMatch('a/#', 'a/+/c'), true);
    assert.equal(aclTopicMatch('a/#', 'a'), true);
    assert.equal(aclTopicMatch('#', '$SYS/x'), false);
    assert.equal(aclTopicMatch('+/x', '$SYS/x'), false);
    assert.equal(aclTopicMatch('a/b', 'a/b/c'), false);
  });

  it('never lets a client value widen a rule: wildcard or slash in a placeholder value matches nothing', () => {
    const rules = [rawRule({ permission: 'allow', action: 'all', topic: 'users/${username}/#' })];
    assert.equal(firstMatch(rules, client({ username: 'bob' }), pub(), 'users/bob/x'), 'allow');
    for (const evil of ['+', '#', 'bob/x', '', "' OR 1=1 --"]) {
      const ci = client({ username: evil });
      assert.equal(firstMatch(rules, ci, pub(), 'users/bob/x'), undefined, JSON.stringify(evil));
      assert.equal(firstMatch(rules, ci, sub(), 'users/+/#'), undefined, JSON.stringify(evil));
    }
    assert.equal(firstMatch(rules, client({ username: undefined }), pub(), 'users//x'), undefined);
  });

  it('reads raw rules: eq prefix, qos as list or string, retain variants, bad rows refused', () => {
    const r = rawRule({ permission: 'deny', action: 'publish', topic: 'eq a/#', qos: '1,2', retain: 'true' });
    assert.equal(firstMatch([r], client(), pub(1, true), 'a/#'), 'deny');
    assert.equal(firstMatch([r], client(), pub(0, true), 'a/#'), undefined);
    assert.equal(firstMatch([r], client(), pub(1, false), 'a/#'), undefined);
    assert.equal(firstMatch([r], client(), pub(1, true), 'a/b'), undefined);
    assert.throws(() => rawRule({ permission: 'maybe', action: 'all', topic: 't' }));
    assert.throws(() => rawRule({ permission: 'allow', action: 'fly', topic: 't' }));
    assert.throws(() => rawRule({ permission: 'allow', action: 'all', topic: 't', qos: 3 }));
  });

  it('applies the client_info ACL: v1 denies what it does not list, v2 passes on, expire disables', () => {
    const v1 = client({ acl: { pub: ['up/${clientid}'], sub: ['down/#'], all: ['both'] } });
    assert.equal(clientInfoAnswer(v1, pub(), 'up/c1'), 'allow');
    assert.equal(clientInfoAnswer(v1, sub(), 'down/x'), 'allow');
    assert.equal(clientInfoAnswer(v1, pub(), 'down/x'), 'deny');
    assert.equal(clientInfoAnswer(v1, sub(), 'both'), 'allow');
    const v2 = client({ acl: [{ permission: 'deny', action: 'all', topic: 'secret/#' }] });
    assert.equal(clientInfoAnswer(v2, pub(), 'secret/a'), 'deny');
    assert.equal(clientInfoAnswer(v2, pub(), 'open'), undefined);
    const expired = client({ acl: { pub: ['x'], expire: Math.floor(Date.now() / 1000) - 10 } });
    assert.equal(clientInfoAnswer(expired, pub(), 'y'), undefined);
  });
});
