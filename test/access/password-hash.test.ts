import assert from 'node:assert/strict';
import { createHash, pbkdf2Sync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
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

  it('checks pbkdf2 known answers (RFC 6070) on the synchronous and the threadpool path alike', async () => {
    const sha1 = (iterations: number) => ({ name: 'pbkdf2', mac_fun: 'sha', iterations }) as const;
    const cheap = checkPassword(
      sha1(1),
      Buffer.from('password'),
      '0c60c80f961f0e71f3a9b524af6012062fe037a6',
      'salt',
    );
    assert.equal(await cheap, true);
    // On one core the threadpool hop buys nothing: cheap settings answer without a promise there.
    if (availableParallelism() === 1) assert.equal(cheap, true, 'synchronous on one core');
    const costly = checkPassword(
      sha1(4096),
      Buffer.from('password'),
      '4B007901B765489ABEAD49D926F721D065A429C1',
      'salt',
    );
    assert.ok(costly instanceof Promise, 'costly settings run off the event loop');
    assert.equal(await costly, true, 'upper-case hex matches');
    assert.equal(
      await checkPassword(
        sha1(4096),
        Buffer.from('passwore'),
        '4b007901b765489abead49d926f721d065a429c1',
        'salt',
      ),
      false,
    );
    // Mosquitto's password_file parameters, each mac_fun EMQX offers.
    for (const mac of ['sha', 'sha224', 'sha256', 'sha384', 'sha512'] as const) {
      const digest = mac === 'sha' ? 'sha1' : mac;
      const alg = { name: 'pbkdf2', mac_fun: mac, iterations: 101, dk_length: 64 } as const;
      const dk = pbkdf2Sync('s3cret', 'NaCl', 101, 64, digest).toString('hex');
      assert.equal(await checkPassword(alg, pw, dk, 'NaCl'), true, mac);
      assert.equal(await checkPassword(alg, Buffer.from('s3creT'), dk, 'NaCl'), false, mac);
      assert.equal(await checkPassword(alg, pw, dk.slice(2), 'NaCl'), false, `${mac}: short hash`);
      assert.equal(await checkPassword(alg, pw, `${dk.slice(2)}zz`, 'NaCl'), false, `${mac}: not hex`);
    }
  });

  it('checks a bcrypt known answer (the crypt_blowfish test vector)', async () => {
    const hash = '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';
    assert.equal(await checkPassword({ name: 'bcrypt' }, Buffer.from('U*U'), hash, ''), true);
    assert.equal(await checkPassword({ name: 'bcrypt' }, Buffer.from('U*V'), hash, ''), false);
  });

  it('checks bcrypt without holding the event loop (worker threads)', async () => {
    const alg = { name: 'bcrypt', salt_rounds: 10 } as const;
    const h = await hashPassword(alg, 'pa55');
    assert.match(h.password_hash, /^\$2[aby]\$10\$/);
    assert.equal(h.salt, h.password_hash.slice(0, 29), 'the salt is the hash prefix');
    // The main thread's event-loop utilization while four cost-10 checks (~75 ms each) run: bcryptjs on the
    // main thread keeps it near 1; on workers the loop mostly waits.
    const before = performance.eventLoopUtilization();
    const checks = ['pa55', 'pa56', 'pa55', 'x'].map((p) =>
      checkPassword(alg, Buffer.from(p), h.password_hash, h.salt),
    );
    assert.deepEqual(await Promise.all(checks), [true, false, true, false]);
    const elu = performance.eventLoopUtilization(before);
    assert.ok(elu.utilization < 0.5, `event loop busy ${(elu.utilization * 100).toFixed(0)} % of the checks`);
  });

  it('compares in constant time whatever the lengths', () => {
    assert.equal(safeEqual(Buffer.from('abc'), Buffer.from('abc')), true);
    assert.equal(safeEqual(Buffer.from('abc'), Buffer.from('abcd')), false);
    assert.equal(safeEqual(Buffer.alloc(0), Buffer.alloc(0)), true);
    assert.equal(hexEqual('ABCDEF', 'abcdef'), true);
  });
});
