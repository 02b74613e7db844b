import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { IAuthPacket, IConnackPacket, IDisconnectPacket } from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

/** The client half of SCRAM (RFC 5802), written from the RFC for this test. */
class ScramClient {
  readonly nonce = randomBytes(12).toString('base64');
  readonly bare: string;
  private authMessage = '';
  private saltedPassword = Buffer.alloc(0);

  constructor(
    readonly hash: 'sha256' | 'sha512',
    readonly user: string,
    readonly password: string,
  ) {
    this.bare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${this.nonce}`;
  }

  first(): Buffer {
    return Buffer.from(`n,,${this.bare}`);
  }

  final(serverFirst: string): Buffer {
    const a = new Map(serverFirst.split(',').map((p) => [p[0]!, p.slice(2)] as [string, string]));
    assert.ok(a.get('r')!.startsWith(this.nonce), 'server nonce extends ours');
    const len = this.hash === 'sha256' ? 32 : 64;
    this.saltedPassword = pbkdf2Sync(
      this.password,
      Buffer.from(a.get('s')!, 'base64'),
      Number(a.get('i')),
      len,
      this.hash,
    );
    const clientKey = createHmac(this.hash, this.saltedPassword).update('Client Key').digest();
    const storedKey = createHash(this.hash).update(clientKey).digest();
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${a.get('r')}`;
    this.authMessage = `${this.bare},${serverFirst},${withoutProof}`;
    const sig = createHmac(this.hash, storedKey).update(this.authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!));
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  expectedServerFinal(): string {
    const serverKey = createHmac(this.hash, this.saltedPassword).update('Server Key').digest();
    return `v=${createHmac(this.hash, serverKey).update(this.authMessage).digest('base64')}`;
  }
}

async function scramLogin(port: number, method: string, c: ScramClient) {
  const client = await RawClient.open(port, 5);
  client.send({
    cmd: 'connect',
    clientId: `scram-${c.user}`,
    protocolVersion: 5,
    protocolId: 'MQTT',
    clean: true,
    keepalive: 30,
    properties: { authenticationMethod: method, authenticationData: c.first() },
  });
  const first = await client.next();
  if (first.cmd !== 'auth') return { client, connack: first as IConnackPacket, challenge: undefined };
  const challenge = first as IAuthPacket;
  assert.equal(challenge.reasonCode, 0x18);
  client.send({
    cmd: 'auth',
    reasonCode: 0x18,
    properties: {
      authenticationMethod: method,
      authenticationData: c.final(challenge.properties!.authenticationData!.toString()),
    },
  });
  return { client, connack: (await client.next('connack')) as IConnackPacket, challenge };
}

for (const hash of ['sha256', 'sha512'] as const) {
  const method = hash === 'sha256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512';
  describe(`SCRAM over MQTT 5 enhanced authentication (${method})`, () => {
    let b: TestBroker;
    before(async () => {
      b = await startBroker({
        config: {
          authentication: [
            { mechanism: 'password_based', backend: 'built_in_database' },
            { mechanism: 'scram', backend: 'built_in_database', algorithm: hash, iteration_count: 512 },
          ],
        },
      });
      const users = b.node.authn.users('mqtt:global', 'scram:built_in_database')!;
      await users.add({ user_id: 'sam', password: 'p@ss,word', is_superuser: true });
      await users.add({ user_id: 'a,b=c', password: 'odd' });
    });
    after(() => b.stop());

    it('completes the exchange and proves the server knows the key (server-final in CONNACK)', async () => {
      const c = new ScramClient(hash, 'sam', 'p@ss,word');
      const { client, connack } = await scramLogin(b.port, method, c);
      assert.equal(connack.reasonCode, 0);
      assert.equal(connack.properties?.authenticationMethod, method);
      assert.equal(connack.properties?.authenticationData?.toString(), c.expectedServerFinal());
      client.disconnect();
    });

    it('escapes , and = in the user name', async () => {
      const { client, connack } = await scramLogin(b.port, method, new ScramClient(hash, 'a,b=c', 'odd'));
      assert.equal(connack.reasonCode, 0);
      client.disconnect();
    });

    it('refuses a wrong password and an unknown user with 0x87', async () => {
      const bad = await scramLogin(b.port, method, new ScramClient(hash, 'sam', 'wrong'));
      assert.ok(bad.challenge, 'a challenge is sent before the proof is checked');
      assert.equal(bad.connack.reasonCode, 0x87);
      const unknown = await scramLogin(b.port, method, new ScramClient(hash, 'nobody', 'x'));
      assert.equal(unknown.connack.reasonCode, 0x87);
    });

    it('re-authenticates a connected client (AUTH 0x19) and disconnects on a bad proof', async () => {
      const c = new ScramClient(hash, 'sam', 'p@ss,word');
      const { client } = await scramLogin(b.port, method, c);
      const again = new ScramClient(hash, 'sam', 'p@ss,word');
      client.send({
        cmd: 'auth',
        reasonCode: 0x19,
        properties: { authenticationMethod: method, authenticationData: again.first() },
      });
      const ch = (await client.next('auth')) as IAuthPacket;
      client.send({
        cmd: 'auth',
        reasonCode: 0x18,
        properties: {
          authenticationMethod: method,
          authenticationData: again.final(ch.properties!.authenticationData!.toString()),
        },
      });
      const ok = (await client.next('auth')) as IAuthPacket;
      assert.equal(ok.reasonCode, 0);
      assert.equal(ok.properties?.authenticationData?.toString(), again.expectedServerFinal());
      const third = new ScramClient(hash, 'sam', 'not-it');
      client.send({
        cmd: 'auth',
        reasonCode: 0x19,
        properties: { authenticationMethod: method, authenticationData: third.first() },
      });
      const ch3 = (await client.next('auth')) as IAuthPacket;
      client.send({
        cmd: 'auth',
        reasonCode: 0x18,
        properties: {
          authenticationMethod: method,
          authenticationData: third.final(ch3.properties!.authenticationData!.toString()),
        },
      });
      const d = (await client.next('disconnect')) as IDisconnectPacket;
      assert.equal(d.reasonCode, 0x87);
    });

    it('refuses a method nobody speaks with 0x87 and garbage client-first data cleanly', async () => {
      const other = hash === 'sha256' ? 'SCRAM-SHA-512' : 'SCRAM-SHA-256';
      const { connack } = await scramLogin(b.port, other, new ScramClient(hash, 'sam', 'p@ss,word'));
      assert.equal(connack.reasonCode, 0x87);
      const client = await RawClient.open(b.port, 5);
      client.send({
        cmd: 'connect',
        clientId: 'garbage',
        protocolVersion: 5,
        protocolId: 'MQTT',
        clean: true,
        keepalive: 30,
        properties: { authenticationMethod: method, authenticationData: Buffer.from([0xff, 0x00, 0x2c]) },
      });
      assert.equal(((await client.next('connack')) as IConnackPacket).reasonCode, 0x87);
    });
  });
}
