/**
 * Fuzzing the MQTT 3.1/3.1.1/5 parser: random bytes and mutated valid streams (from our serializer and from
 * mqtt-packet, an independent codec) never make it throw, always end in packets or an MqttParseError, parse
 * the same whole or in random chunks, and valid packets round-trip. A socket variant sends the same kind of
 * streams to a running broker and checks a normal client still gets through after each batch.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import {
  type MqttPacket,
  MqttParseError,
  MqttParser,
  type ProtocolVersion,
  serialize,
} from '../../src/mqtt/codec/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient } from '../helpers/clients.js';
import { Collector, normalize, projectTo, toMqttPacket } from '../mqtt/codec-fixtures.js';
import {
  bytesArb,
  chunk,
  cutsArb,
  mqttRoundTrip,
  mutate,
  mutationsArb,
  noThrow,
  params,
  socketParams,
} from './fuzz.js';
import { clientStream, serverPacket, versionArb } from './mqtt-arbitraries.js';

/** The reason codes a parse error may carry (see parser.ts). */
const PARSE_ERROR_CODES = new Set([0x81, 0x82, 0x84, 0x94, 0x95]);

type Role = 'server' | 'client';

interface Outcome {
  packets: MqttPacket[];
  error: { reasonCode: number; message: string } | undefined;
}

/** Feeds `chunks` to a fresh parser; checks every push answers undefined or a sticky MqttParseError. */
function parse(role: Role, version: ProtocolVersion, chunks: Buffer[], maxPacketSize = 1 << 20): Outcome {
  const parser = new MqttParser({
    role,
    maxPacketSize,
    protocolVersion: role === 'client' ? version : undefined,
  });
  const sink = new Collector();
  let error: MqttParseError | undefined;
  for (const c of chunks) {
    const r = noThrow('MqttParser.push', () => parser.push(c, sink));
    if (r === undefined) continue;
    assert.ok(r instanceof MqttParseError, 'push returns undefined or an MqttParseError');
    assert.ok(PARSE_ERROR_CODES.has(r.reasonCode), `unexpected reason code 0x${r.reasonCode.toString(16)}`);
    if (error !== undefined) assert.equal(r, error, 'after an error, every push returns that same error');
    error = r;
  }
  if (error !== undefined) assert.equal(parser.push(Buffer.from([0xc0, 0]), sink), error);
  return {
    packets: normalize(sink.packets),
    error: error && { reasonCode: error.reasonCode, message: error.message },
  };
}

/** mqtt-packet folds user properties into an object: compare them as ordered-by-key lists. */
function byKey<T>(value: T): T {
  if (Array.isArray(value)) return value.map(byKey) as T;
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      k === 'userProperties'
        ? [...(v as Array<[string, string]>)].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        : byKey(v);
  }
  return out as T;
}

/** User property names that an object-based model (mqtt-packet's, and the fixtures' converter) mistakes for inherited members. */
function hasObjectMemberName(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false;
  for (const [k, v] of Object.entries(value)) {
    if (k === 'userProperties' && (v as Array<[string, string]>).some(([name]) => name in Object.prototype))
      return true;
    if (hasObjectMemberName(v)) return true;
  }
  return false;
}

/** mqtt-packet refuses to write some things the protocol allows (see codec-interop.test.ts). */
function theyCanGenerate(p: MqttPacket, v: ProtocolVersion): boolean {
  if (hasObjectMemberName(p)) return false;
  if (p.cmd === 'connect')
    return !(p.password !== undefined && p.username === undefined) && (p.clientId !== '' || p.cleanStart);
  // mqtt-packet cannot write the reason-code-only short forms with properties it drops, nor AUTH 0 alone.
  return !(p.cmd === 'auth' && v === 5 && p.reasonCode === 0 && p.properties === undefined);
}

function theirBytes(packets: MqttPacket[], v: ProtocolVersion): Buffer {
  return Buffer.concat(
    packets.map((p) =>
      mqttPacket.generate(toMqttPacket(p, v) as unknown as mqttPacket.Packet, { protocolVersion: v }),
    ),
  );
}

const ourBytes = (packets: MqttPacket[], v: ProtocolVersion): Buffer =>
  Buffer.concat(packets.map((p) => serialize(p, v)));

describe('fuzz: MQTT parser', () => {
  it('random bytes: no exception, packets or a parse error, same result in any chunking', () => {
    fc.assert(
      fc.property(
        versionArb,
        fc.constantFrom<'fresh' | 'connected' | 'client'>('fresh', 'connected', 'client'),
        bytesArb,
        cutsArb,
        (v, where, random, cuts) => {
          // 'connected' puts the random bytes after a valid CONNECT, past the "CONNECT first" gate.
          const prefix =
            where === 'connected'
              ? serialize(
                  {
                    cmd: 'connect',
                    protocolName: v === 3 ? 'MQIsdp' : 'MQTT',
                    protocolVersion: v,
                    bridge: false,
                    cleanStart: true,
                    keepalive: 0,
                    clientId: 'f',
                  },
                  v,
                )
              : Buffer.alloc(0);
          const all = Buffer.concat([prefix, random]);
          const role: Role = where === 'client' ? 'client' : 'server';
          const whole = parse(role, v, [all]);
          assert.deepStrictEqual(parse(role, v, chunk(all, cuts)), whole);
        },
      ),
      params(1500),
    );
  });

  it('valid client streams round-trip through our serializer, whole and in random chunks', () => {
    fc.assert(
      fc.property(
        versionArb.chain((v) => fc.tuple(fc.constant(v), clientStream(v), cutsArb)),
        ([v, packets, cuts]) => {
          const bytes = ourBytes(packets, v);
          const expected = packets.map((p) => projectTo(p, v));
          const whole = parse('server', v, [bytes]);
          assert.equal(whole.error, undefined, whole.error?.message);
          assert.deepStrictEqual(whole.packets, expected);
          assert.deepStrictEqual(parse('server', v, chunk(bytes, cuts)), whole);
        },
      ),
      params(400),
    );
  });

  it('valid server packets round-trip at the client side', () => {
    fc.assert(
      fc.property(
        versionArb.chain((v) =>
          fc.tuple(fc.constant(v), fc.array(serverPacket(v), { minLength: 1, maxLength: 6 }), cutsArb),
        ),
        ([v, packets, cuts]) => {
          const bytes = ourBytes(packets, v);
          const whole = parse('client', v, [bytes]);
          assert.equal(whole.error, undefined, whole.error?.message);
          assert.deepStrictEqual(
            whole.packets,
            packets.map((p) => projectTo(p, v)),
          );
          assert.deepStrictEqual(parse('client', v, chunk(bytes, cuts)), whole);
        },
      ),
      params(300),
    );
  });

  it('client streams written by mqtt-packet parse to the same packets', () => {
    fc.assert(
      fc.property(
        versionArb.chain((v) =>
          fc.tuple(
            fc.constant(v),
            clientStream(v).filter((ps) => ps.every((p) => theyCanGenerate(p, v))),
          ),
        ),
        ([v, packets]) => {
          const whole = parse('server', v, [theirBytes(packets, v)]);
          assert.equal(whole.error, undefined, whole.error?.message);
          assert.deepStrictEqual(byKey(whole.packets), byKey(packets.map((p) => projectTo(p, v))));
        },
      ),
      params(300),
    );
  });

  it('mutated valid streams (either writer): no exception, same outcome whole and chunked', () => {
    fc.assert(
      fc.property(
        versionArb.chain((v) =>
          fc.tuple(
            fc.constant(v),
            clientStream(v, 4).filter((ps) => ps.every((p) => theyCanGenerate(p, v))),
            fc.boolean(),
            mutationsArb,
            cutsArb,
          ),
        ),
        ([v, packets, theirs, edits, cuts]) => {
          const bytes = mutate(theirs ? theirBytes(packets, v) : ourBytes(packets, v), edits);
          const whole = parse('server', v, [bytes]);
          assert.deepStrictEqual(parse('server', v, chunk(bytes, cuts)), whole);
          // A small packet size limit must refuse, not throw, on the same bytes.
          parse('server', v, chunk(bytes, cuts), 64);
        },
      ),
      params(1500),
    );
  });

  it('mutated server packets at the client side: no exception, same outcome whole and chunked', () => {
    fc.assert(
      fc.property(
        versionArb.chain((v) =>
          fc.tuple(
            fc.constant(v),
            fc.array(serverPacket(v), { minLength: 1, maxLength: 4 }),
            mutationsArb,
            cutsArb,
          ),
        ),
        ([v, packets, edits, cuts]) => {
          const bytes = mutate(ourBytes(packets, v), edits);
          assert.deepStrictEqual(parse('client', v, chunk(bytes, cuts)), parse('client', v, [bytes]));
        },
      ),
      params(800),
    );
  });
});

/** Sends `bytes` in chunks on a fresh TCP connection; resolves when the broker closes it or after a pause. */
function sendRaw(port: number, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    // A stream cut short leaves the broker waiting for the rest, as it should: stop waiting ourselves.
    const timer = setTimeout(finish, 300);
    s.on('error', finish);
    s.on('close', finish);
    s.on('data', () => undefined);
    s.on('connect', () => {
      for (const c of chunks) s.write(c);
    });
  });
}

describe('fuzz: MQTT broker over TCP', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
  });
  after(() => b.stop());

  it('regression: a will delay beyond ~24.8 days is not published at once', async () => {
    // Found by the socket fuzzer (a TimeoutOverflowWarning): setTimeout turned a 30-day delay into 1 ms.
    const watcher = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(watcher);
    await watcher.subscribeAsync('fuzz/will/long', { qos: 1 });
    const month = 30 * 24 * 3600;
    const dying = await connectClient(b.port, {
      protocolVersion: 5,
      clientId: 'fuzz-long-will',
      clean: false,
      properties: { sessionExpiryInterval: month },
      will: {
        topic: 'fuzz/will/long',
        payload: Buffer.from('too early'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: month },
      },
    });
    dying.stream.destroy();
    await new Promise((r) => setTimeout(r, 500));
    assert.deepStrictEqual(
      got.messages.map((m) => m.payload.toString()),
      [],
    );
    await watcher.endAsync();
  });

  it('batches of random and mutated streams, then a normal client round trip', async () => {
    let batch = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            versionArb.chain((v) =>
              fc
                .tuple(clientStream(v, 4), mutationsArb, cutsArb)
                .map(([ps, edits, cuts]) => chunk(mutate(ourBytes(ps, v), edits), cuts)),
            ),
            fc.tuple(bytesArb, cutsArb).map(([bytes, cuts]) => chunk(bytes, cuts)),
          ),
          { minLength: 10, maxLength: 10 },
        ),
        async (cases) => {
          await Promise.all(cases.map((c) => sendRaw(b.port, c)));
          await mqttRoundTrip(b.port, `mqtt-${batch++}`);
        },
      ),
      socketParams(4),
    );
  });
});
