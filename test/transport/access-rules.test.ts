import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccessRules } from '../../src/transport/access-rules.js';

describe('listener access rules', () => {
  it('"allow all" lets every address in, whatever its form', () => {
    const r = new AccessRules(['allow all']);
    for (const ip of ['10.1.2.3', '::1', '::ffff:10.1.2.3', 'fe80::1']) assert.equal(r.allows(ip), true, ip);
  });

  it('first match wins over IPv4, IPv4-mapped IPv6 and IPv6 addresses', () => {
    const r = new AccessRules(['deny 10.0.0.0/8', 'allow 10.1.0.0/16', 'deny ::1', 'allow all']);
    assert.equal(r.allows('10.1.2.3'), false, 'the earlier deny wins');
    assert.equal(r.allows('::ffff:10.1.2.3'), false, 'mapped IPv4 is checked as IPv4');
    assert.equal(r.allows('192.168.0.1'), true);
    assert.equal(r.allows('::1'), false);
    assert.equal(r.allows('::2'), true);
  });

  it('no matching rule allows; an "all" rule after address rules still applies', () => {
    assert.equal(new AccessRules(['deny 10.0.0.1']).allows('10.0.0.2'), true);
    const r = new AccessRules(['allow 127.0.0.1', 'deny all']);
    assert.equal(r.allows('127.0.0.1'), true);
    assert.equal(r.allows('::ffff:127.0.0.1'), true);
    assert.equal(r.allows('127.0.0.2'), false);
  });
});
