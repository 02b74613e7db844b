import assert from 'node:assert/strict';
import { createHmac, createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { jwtProvider } from '../../src/access/authn/backends/jwt.js';
import { hmacChecks, publicKeyChecks, verifyJwt } from '../../src/access/authn/jwt-verify.js';
import type { Authenticator } from '../../src/access/authn/types.js';
import { checkConfig } from '../../src/access/schema-parts.js';
import type { AuthnResult, Credential } from '../../src/broker/types.js';

const SECRET = Buffer.from('a-secret-for-the-jwt-verify-tests');
const now = () => Math.floor(Date.now() / 1000);
const b64url = (o: unknown) =>
  Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
const sign = (claims: Record<string, unknown>, alg: string, key: KeyObject | Uint8Array) =>
  new SignJWT(claims).setProtectedHeader({ alg }).sign(key);

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ecKeys = {
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ES384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  ES512: generateKeyPairSync('ec', { namedCurve: 'P-521' }),
};
const ed = generateKeyPairSync('ed25519');

function authenticator(cfg: Record<string, unknown>): Authenticator {
  const checked = checkConfig(jwtProvider.schema, { mechanism: 'jwt', ...cfg });
  if (typeof checked === 'string') throw new Error(checked);
  return jwtProvider.create(checked.decoded, {} as never) as Authenticator;
}

const credential = (password: string | Buffer): Credential =>
  ({
    clientid: 'c1',
    username: 'u',
    password: Buffer.isBuffer(password) ? password : Buffer.from(password),
    protocol: 'mqtt',
    listener: 'tcp:default',
  }) as unknown as Credential;

describe('jwt verification with node:crypto', () => {
  it('verifies every HMAC and public-key algorithm jose signs, and refuses a tampered token', async () => {
    const cases: Array<[string, KeyObject | Uint8Array, Map<string, unknown>]> = [
      ['HS256', SECRET, hmacChecks(createSecretKey(SECRET))],
      ['HS384', SECRET, hmacChecks(createSecretKey(SECRET))],
      ['HS512', SECRET, hmacChecks(createSecretKey(SECRET))],
      ...(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'].map((alg) => [
        alg,
        rsa.privateKey,
        publicKeyChecks(rsa.publicKey),
      ]) as Array<[string, KeyObject, Map<string, unknown>]>),
      ...(Object.entries(ecKeys).map(([alg, k]) => [
        alg,
        k.privateKey,
        publicKeyChecks(k.publicKey),
      ]) as Array<[string, KeyObject, Map<string, unknown>]>),
      ['EdDSA', ed.privateKey, publicKeyChecks(ed.publicKey)],
    ];
    for (const [alg, key, checks] of cases) {
      const token = await sign({ sub: 'x', exp: now() + 60 }, alg, key);
      const v = verifyJwt(token, checks as never, now());
      assert.deepEqual(v.ok ? v.payload.sub : v.reason, 'x', alg);
      const [h, , s] = token.split('.');
      const tampered = `${h}.${b64url({ sub: 'y', exp: now() + 60 })}.${s}`;
      assert.deepEqual(
        verifyJwt(tampered, checks as never, now()),
        { ok: false, reason: 'jwt signature invalid' },
        alg,
      );
    }
  });

  it('verifies HS256/384/512 with secrets of any length and bytes, and tokens of any length', () => {
    const hs = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
    // Around both block sizes (64, 128 bytes), where the key is padded or hashed first.
    for (const keyLength of [1, 32, 63, 64, 65, 127, 128, 129, 300]) {
      const key = Buffer.from(Array.from({ length: keyLength }, (_, i) => (i * 151 + 77) & 0xff));
      const checks = hmacChecks(createSecretKey(key));
      for (const [alg, hash] of Object.entries(hs)) {
        for (const claimLength of [0, 1_000, 1_600, 5_000]) {
          const input = `${b64url({ alg, typ: 'JWT' })}.${b64url({ sub: 's', pad: 'x'.repeat(claimLength) })}`;
          const sig = createHmac(hash, key).update(input).digest('base64url');
          const what = `${alg}, ${keyLength}-byte key, ${input.length}-character input`;
          const v = verifyJwt(`${input}.${sig}`, checks, now());
          assert.equal(v.ok ? v.payload.sub : v.reason, 's', what);
          const flipped = `${sig.slice(0, 5)}${sig[5] === 'A' ? 'B' : 'A'}${sig.slice(6)}`;
          assert.deepEqual(
            verifyJwt(`${input}.${flipped}`, checks, now()),
            { ok: false, reason: 'jwt signature invalid' },
            what,
          );
        }
      }
    }
  });

  it('judges a header the same every time, whichever key and whatever came before', () => {
    const keyA = hmacChecks(createSecretKey(SECRET));
    const keyB = hmacChecks(createSecretKey(Buffer.from('another secret')));
    const header = b64url({ alg: 'HS256', typ: 'JWT' });
    const tokenFor = (secret: Buffer, h = header) => {
      const input = `${h}.${b64url({ sub: 'm' })}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const a = tokenFor(SECRET);
    assert.equal(verifyJwt(a, keyA, now()).ok, true);
    assert.deepEqual(verifyJwt(a, keyB, now()), { ok: false, reason: 'jwt signature invalid' });
    assert.equal(verifyJwt(tokenFor(Buffer.from('another secret')), keyB, now()).ok, true);
    // Many distinct headers (each token names its own key id), then the first one again.
    for (let i = 0; i < 200; i++) {
      const t = tokenFor(SECRET, b64url({ alg: 'HS256', kid: `k${i}` }));
      assert.equal(verifyJwt(t, keyA, now()).ok, true, `kid k${i}`);
    }
    assert.equal(verifyJwt(a, keyA, now()).ok, true);
    const crit = tokenFor(SECRET, b64url({ alg: 'HS256', crit: ['exp'] }));
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(verifyJwt(crit, keyA, now()), {
        ok: false,
        reason: 'jwt invalid (critical extension exp not supported)',
      });
    }
    const long = tokenFor(SECRET, b64url({ alg: 'HS256', note: 'n'.repeat(1_000) }));
    for (let i = 0; i < 2; i++) assert.equal(verifyJwt(long, keyA, now()).ok, true, 'a long header');
  });

  it('refuses an algorithm the key does not allow: none, HS256 for a public key, the wrong curve', async () => {
    const rsaChecks = publicKeyChecks(rsa.publicKey);
    const none = `${b64url({ alg: 'none' })}.${b64url({ sub: 'x' })}.`;
    assert.deepEqual(verifyJwt(none, hmacChecks(createSecretKey(SECRET)), now()), {
      ok: false,
      reason: 'jwt algorithm not allowed',
    });
    const pem = Buffer.from(rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const confused = await sign({ sub: 'x' }, 'HS256', pem);
    assert.equal(verifyJwt(confused, rsaChecks, now()).ok, false);
    const p384 = await sign({ sub: 'x' }, 'ES384', ecKeys.ES384.privateKey);
    assert.deepEqual(verifyJwt(p384, publicKeyChecks(ecKeys.ES256.publicKey), now()), {
      ok: false,
      reason: 'jwt algorithm not allowed',
    });
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    assert.equal(publicKeyChecks(small.publicKey).size, 0, 'RSA below 2048 bits verifies nothing');
  });

  it('checks exp, nbf and iat as EMQX does: exp is past at its second, nbf and iat are valid from theirs', async () => {
    const checks = hmacChecks(createSecretKey(SECRET));
    const t = now();
    const at = async (claims: Record<string, unknown>) =>
      verifyJwt(await sign(claims, 'HS256', SECRET), checks, t);
    assert.deepEqual(await at({ exp: t }), { ok: false, reason: 'jwt expired' });
    assert.equal((await at({ exp: t + 1 })).ok, true);
    assert.equal((await at({ nbf: t })).ok, true);
    assert.deepEqual(await at({ nbf: t + 1 }), { ok: false, reason: 'jwt claim nbf invalid (check_failed)' });
    assert.equal((await at({ iat: t })).ok, true);
    assert.deepEqual(await at({ iat: t + 1 }), { ok: false, reason: 'jwt claim iat invalid (check_failed)' });
    assert.deepEqual(await at({ iat: 'yesterday' }), {
      ok: false,
      reason: 'jwt claim iat invalid (invalid)',
    });
    assert.deepEqual(await at({ exp: '1' }), { ok: false, reason: 'jwt claim exp invalid (invalid)' });
  });

  it('answers without a promise for a configured key, and keeps the acl claim and is_superuser', async () => {
    const a = authenticator({ secret: SECRET.toString(), verify_claims: { sub: '${clientid}' } });
    const token = await sign({ sub: 'c1', is_superuser: true, acl: { pub: ['a/#'] } }, 'HS256', SECRET);
    const r = a.authenticate(credential(token));
    assert.ok(!(r instanceof Promise), 'synchronous');
    assert.deepEqual(r, { kind: 'ok', is_superuser: true, acl: { pub: ['a/#'] } });
  });

  it('refuses malformed tokens with a reason and never throws (fuzz)', async () => {
    const a = authenticator({ secret: SECRET.toString() });
    const pk = authenticator({
      algorithm: 'public-key',
      public_key: rsa.publicKey.export({ type: 'spki', format: 'pem' }),
    });
    const good = await sign({ sub: 'c1' }, 'HS256', SECRET);
    const [gh, gp, gs] = good.split('.') as [string, string, string];
    const segment = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'ABCabc012-_'.split('')) }),
      fc.string(),
      fc.jsonValue().map(b64url),
      fc.constantFrom(
        gh,
        gp,
        gs,
        b64url({ alg: 'none' }),
        b64url({ alg: 'RS256' }),
        b64url({ alg: 'HS256', crit: ['x'] }),
      ),
      fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u).toString('base64url')),
    );
    const token = fc.oneof(
      fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')),
      fc.string(),
      fc.constant(`${gh}.${'A'.repeat(60_000)}.${gs}`),
      fc.constant(`${b64url('{not json')}.${gp}.${gs}`),
      fc.constant(`${gh}.${gp}.${gs}`.slice(0, -1)),
    );
    const results = (r: AuthnResult | Promise<AuthnResult>) =>
      r instanceof Promise ? r : Promise.resolve(r);
    await fc.assert(
      fc.asyncProperty(token, async (t) => {
        for (const auth of [a, pk]) {
          const r = await results(auth.authenticate(credential(t)));
          if (t === good && auth === a) continue;
          assert.ok(r.kind === 'ignore' || r.kind === 'error', `${t}: ${JSON.stringify(r)}`);
          if (r.kind === 'error') assert.match(String(r.message), /^jwt /, t);
        }
        const v = verifyJwt(t, hmacChecks(createSecretKey(SECRET)), now());
        if (t !== good) assert.equal(v.ok, false, t);
      }),
      { numRuns: 500 },
    );
    // Each kind of malformed token, with its reason.
    const reasons: Array<[string, RegExp]> = [
      [`${b64url('{not json')}.${gp}.${gs}`, /header is not a base64url JSON object/],
      [`A.${gp}.${gs}`, /header is not a base64url JSON object/],
      [
        `${gh}.${b64url('[1]')}.${createHmac('sha256', SECRET)
          .update(`${gh}.${b64url('[1]')}`)
          .digest('base64url')}`,
        /claims are not a base64url JSON object/,
      ],
      [`${gh}.${gp}.${gs}.x`, /not three segments/],
      [`${gh}.${gp}.${gs.slice(0, -1)}`, /signature (invalid|is not base64url)/],
      [`${b64url({ alg: 'none' })}.${gp}.`, /algorithm not allowed/],
      [`${b64url({ typ: 'JWT' })}.${gp}.${gs}`, /has no alg/],
      [`${gh}.${'A'.repeat(60_000)}.${gs}`, /signature invalid/],
    ];
    for (const [t, reason] of reasons) {
      const v = verifyJwt(t, hmacChecks(createSecretKey(SECRET)), now());
      assert.ok(!v.ok && reason.test(v.reason), `${t.slice(0, 80)}: ${JSON.stringify(v)}`);
    }
  });
});
