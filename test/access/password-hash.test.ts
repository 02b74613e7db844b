import assert from 'node:assert/strict';
import { createHash, pbkdf2Sync } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  checkPassword,
  type HashAlgorithm,
  hashPassword,
  hexEqual,
  safeEqual,
} from '../../src/access/password-hash.js';

const pw = Buffer.from('s3cret');
const sha = (alg: string, s: string) => createHash(alg).update(s).digest('hex');

describe('password hashing', () => {
  it('checks simple hashes with the salt before, after or not at all (hex compared case-insensitively)', () => {
    assert.equal(
      checkPassword({ name: 'sha256', salt_position: 'prefix' }, pw, sha('sha256', 'saltys3cret'), 'salty'),
      true,
    );
    assert.equal(
      checkPassword({ name: 'sha256', salt_position: 'suffix' }, pw, sha('sha256', 's3cretsalty'), 'salty'),
      true,
    );
    assert.equal(
      checkPassword({ name: 'sha256', salt_position: 'prefix' }, pw, sha('sha256', 's3cretsalty'), 'salty'),
      false,
    );
    assert.equal(
      checkPassword({ name: 'md5', salt_position: 'disable' }, pw, sha('md5', 's3cret').toUpperCase(), ''),
      true,
    );
    assert.equal(
      checkPassword({ name: 'sha', salt_position: 'disable' }, pw, sha('sha1', 's3cret'), ''),
      true,
    );
    assert.equal(
      checkPassword({ name: 'sha512', salt_position: 'suffix' }, pw, sha('sha512', 's3cretx'), 'x'),
      true,
    );
    assert.equal(checkPassword({ name: 'plain', salt_position: 'disable' }, pw, 's3cret', ''), true);
    assert.equal(checkPassword({ name: 'plain', salt_position: 'disable' }, pw, 's3cre', ''), false);
  });

  it('hashes new passwords with a 32-hex-character salt and checks them back', async () => {
    for (const alg of [
      { name: 'sha256', salt_position: 'prefix' },
      { name: 'sha512', salt_position: 'suffix' },
      { name: 'plain', salt_position: 'disable' },
      { name: 'bcrypt', salt_rounds: 5 },
      { name: 'pbkdf2', mac_fun: 'sha256', iterations: 10 },
    ] as HashAlgorithm[]) {
      const h = await hashPassword(alg, 'pa55');
      if (alg.name === 'sha256' || alg.name === 'sha512') assert.match(h.salt, /^[0-9a-f]{32}$/);
      assert.equal(await checkPassword(alg, Buffer.from('pa55'), h.password_hash, h.salt), true, alg.name);
      assert.equal(await checkPassword(alg, Buffer.from('pa56'), h.password_hash, h.salt), false, alg.name);
    }
  });

  it('checks bcrypt hashes made elsewhere ($2b$) and pbkdf2 with mac_fun and dk_length', async () => {
    const bcryptHash = '$2b$05$abcdefghijklmnopqrstuu3wEk5K2xqFoDbK0zSJ2lq4UFjIGl3pi';
    assert.equal(await checkPassword({ name: 'bcrypt' }, Buffer.from('x'), bcryptHash, ''), false);
    assert.equal(await checkPassword({ name: 'bcrypt' }, Buffer.from('x'), 'not-a-bcrypt-hash', ''), false);
    const dk = pbkdf2Sync('s3cret', 'salt', 100, 20, 'sha512').toString('hex');
    assert.equal(
      await checkPassword(
        { name: 'pbkdf2', mac_fun: 'sha512', iterations: 100, dk_length: 20 },
        pw,
        dk,
        'salt',
      ),
      true,
    );
    assert.equal(
      await checkPassword(
        { name: 'pbkdf2', mac_fun: 'sha512', iterations: 101, dk_length: 20 },
        pw,
        dk,
        'salt',
      ),
      false,
    );
  });

  it('compares in constant time whatever the lengths', () => {
    assert.equal(safeEqual(Buffer.from('abc'), Buffer.from('abc')), true);
    assert.equal(safeEqual(Buffer.from('abc'), Buffer.from('abcd')), false);
    assert.equal(safeEqual(Buffer.alloc(0), Buffer.alloc(0)), true);
    assert.equal(hexEqual('ABCDEF', 'abcdef'), true);
  });
});
