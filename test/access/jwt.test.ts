import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { exportJWK, SignJWT } from 'jose';
import type { IDisconnectPacket } from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { login, loginCode, RC } from './helpers.js';

const SECRET = 'hermod-jwt-secret-that-is-long-enough';
const now = () => Math.floor(Date.now() / 1000);
const hs = (claims: Record<string, unknown>, alg = 'HS256', secret = SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg }).sign(Buffer.from(secret));
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('jwt (HMAC secret)', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({
      config: {
        authentication: [
          {
            mechanism: 'jwt',
            algorithm: 'hmac-based',
            secret: Buffer.from(SECRET).toString('base64'),
            secret_base64_encoded: true,
            verify_claims: { sub: '${clientid}' },
          },
          { mechanism: 'password_based', backend: 'built_in_database' },
        ],
        authorization: { no_match: 'allow', sources: [] },
      },
    });
    await b.node.authn
      .users('mqtt:global', 'password_based:built_in_database')!
      .add({ user_id: 'pw-user', password: 'plain-pw' });
  });
  after(() => b.stop());

  it('accepts a valid token with matching claims and ignores passwords that are not JWTs', async () => {
    assert.equal(
      await loginCode(b.port, { clientId: 'dev1', username: 'u', password: await hs({ sub: 'dev1' }) }),
      RC.OK,
    );
    assert.equal(
      await loginCode(b.port, { clientId: 'dev1', username: 'pw-user', password: 'plain-pw' }),
      RC.OK,
      'next authenticator',
    );
  });

  it('refuses bad tokens with the reason: none, wrong alg, tampered, expired, not yet valid, claim mismatch', async () => {
    const good = await hs({ sub: 'dev1' });
    const [h, p, s] = good.split('.');
    const cases: Array<[string, string]> = [
      ['alg none', `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'dev1' })}.`],
      ['tampered', `${h}.${b64url({ sub: 'dev1', is_superuser: true })}.${s}`],
      ['wrong secret', await hs({ sub: 'dev1' }, 'HS256', 'another-secret-another-secret-xx')],
      ['expired', await hs({ sub: 'dev1', exp: now() - 60 })],
      ['not yet valid', await hs({ sub: 'dev1', nbf: now() + 3600 })],
      ['issued in the future (EMQX refuses it too)', await hs({ sub: 'dev1', iat: now() + 3600 })],
      ['claim mismatch', await hs({ sub: 'dev2' })],
      ['claim missing', await hs({ foo: 1 })],
    ];
    for (const [what, token] of cases) {
      const { code, client, connack } = await login(b.port, {
        clientId: 'dev1',
        username: 'u',
        password: token,
      });
      assert.equal(code, RC.BAD_USER, what);
      assert.match(
        String(connack.properties?.reasonString),
        /jwt/,
        `${what}: ${connack.properties?.reasonString}`,
      );
      client.destroy();
    }
    assert.ok(p);
  });

  it('disconnects the client when exp passes, not before', async () => {
    const exp = now() + 2;
    const { code, client } = await login(b.port, {
      clientId: 'dev1',
      username: 'u',
      password: await hs({ sub: 'dev1', exp }),
    });
    assert.equal(code, RC.OK);
    const d = (await client.next('disconnect', 10_000)) as IDisconnectPacket;
    assert.equal(d.reasonCode, 0xa0);
    assert.ok(Date.now() >= exp * 1000, 'not before exp');
  });

  it('feeds the acl claim to authorization (v1 lists deny the rest) and is_superuser', async () => {
    const token = await hs({ sub: 'acl1', acl: { pub: ['up/${clientid}'], sub: ['down/#'] } });
    const c = await connectClient(b.port, {
      clientId: 'acl1',
      username: 'u',
      password: token,
      protocolVersion: 5,
    });
    assert.equal((await subscribe(c, 'down/x', { qos: 1 }))[0]?.qos, 1);
    await assert.rejects(subscribe(c, 'other/x', { qos: 1 }), /Not authorized/);
    const ack = (await publish(c, 'up/acl1', 'x', { qos: 1 })) as { reasonCode?: number } | undefined;
    assert.equal(ack?.reasonCode ?? 0, 0);
    await assert.rejects(publish(c, 'up/other', 'x', { qos: 1 }), /Not authorized|135/);
    await end(c);
    const root = await connectClient(b.port, {
      clientId: 'root',
      username: 'u',
      password: await hs({ sub: 'root', is_superuser: 'true', acl: { pub: [] } }),
      protocolVersion: 5,
    });
    assert.equal(
      (await subscribe(root, 'anything/#', { qos: 0 }))[0]?.qos,
      0,
      'superuser bypasses its own acl',
    );
    await end(root);
  });
});

describe('jwt (public key and JWKS)', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let jwks: Server;
  let jwksHits = 0;
  let keys: unknown[] = [];
  let b: TestBroker;

  before(async () => {
    keys = [{ ...(await exportJWK(ec.publicKey)), kid: 'ec1', alg: 'ES256' }];
    jwks = createServer((_req, res) => {
      jwksHits++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const port = (jwks.address() as { port: number }).port;
    b = await startBroker({
      config: {
        authentication: [
          {
            mechanism: 'jwt',
            use_jwks: true,
            endpoint: `http://127.0.0.1:${port}/jwks`,
            refresh_interval: '300s',
          },
        ],
        listeners: {
          tcp: {
            pk: {
              bind: '127.0.0.1:0',
              authentication: [
                {
                  mechanism: 'jwt',
                  algorithm: 'public-key',
                  from: 'username',
                  public_key: rsa.publicKey.export({ type: 'spki', format: 'pem' }),
                },
              ],
            },
          },
        },
      },
    });
  });
  after(async () => {
    await b.stop();
    jwks.close();
  });

  it('verifies RS256 with a PEM public key, token in the username; refuses HS256 signed with the PEM text', async () => {
    const pk = b.node.port('tcp:pk');
    const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey);
    assert.equal(await loginCode(pk, { username: token }), RC.OK);
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const confused = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(Buffer.from(pem));
    assert.equal(await loginCode(pk, { username: confused }), RC.BAD_USER, 'algorithm confusion');
  });

  it('verifies ES256 with keys from the JWKS endpoint and refetches for an unknown key id', async () => {
    const t1 = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'ES256', kid: 'ec1' })
      .sign(ec.privateKey);
    assert.equal(await loginCode(b.port, { username: 'u', password: t1 }), RC.OK);
    const rotated = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    keys = [...keys, { ...(await exportJWK(rotated.publicKey)), kid: 'ec2', alg: 'ES256' }];
    // The refetch for an unknown kid is rate-limited; wait out the window since the start-up fetch.
    await new Promise((r) => setTimeout(r, 5200));
    const hitsBefore = jwksHits;
    const t2 = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'ES256', kid: 'ec2' })
      .sign(rotated.privateKey);
    assert.equal(await loginCode(b.port, { username: 'u', password: t2 }), RC.OK);
    assert.ok(jwksHits > hitsBefore);
    const s = await b.node.authn.status('mqtt:global', 'jwt');
    assert.equal(s?.status, 'connected');
  });

  it('refuses a JWKS-verified token issued in the future, as the configured-key path and EMQX do', async () => {
    const ahead = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'ES256', kid: 'ec1' })
      .setIssuedAt(Math.floor(Date.now() / 1000) + 3600)
      .sign(ec.privateKey);
    assert.equal(await loginCode(b.port, { username: 'u', password: ahead }), RC.BAD_USER);
  });
});
