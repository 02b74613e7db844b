/**
 * Fuzzing the STOMP frame codec: random bytes and mutated valid streams never make it throw, end in frames
 * or a frame error with a known reason, parse the same whole or in random chunks; valid frames round-trip.
 * A socket variant sends such streams to a running STOMP gateway, then a normal STOMP client and an MQTT
 * client must still get through.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { type FrameLimits, StompCodec, type StompFrame, serialize } from '../../src/gateway/stomp/frame.js';
import { startStompBroker } from '../gateway/helpers.js';
import { StompRaw } from '../gateway/stomp-client.js';
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

const LIMITS: FrameLimits = { maxHeaders: 10, maxHeadersLength: 256, maxBodyLength: 1024 };
const REASONS = new Set(['too_many_headers', 'too_long_header', 'too_long_body', 'bad_frame']);

interface Outcome {
  frames: StompFrame[];
  error: string | undefined;
}

/** Feeds chunks to a fresh codec until the first error (the channel closes the connection there). */
function parse(chunks: Buffer[], limits = LIMITS): Outcome {
  const codec = new StompCodec(limits);
  const frames: StompFrame[] = [];
  for (const c of chunks) {
    const out = noThrow('StompCodec.feed', () => codec.feed(c));
    frames.push(...out.frames);
    if (out.error !== undefined) {
      assert.ok(REASONS.has(out.error.reason), `unknown reason ${out.error.reason}`);
      assert.match(out.error.message, /^Frame error: /);
      return { frames, error: out.error.reason };
    }
  }
  return { frames, error: undefined };
}

const COMMANDS = [
  'CONNECT',
  'STOMP',
  'CONNECTED',
  'SEND',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'ACK',
  'NACK',
  'BEGIN',
  'COMMIT',
  'ABORT',
  'DISCONNECT',
  'MESSAGE',
  'RECEIPT',
  'ERROR',
];

const text = (maxLength: number) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.constantFrom('a:b', 'x\\y', 'l1\nl2', 'c\r\n'),
  );

/** A frame the codec must give back as it was (plus the content-length the writer adds). */
const frameArb: fc.Arbitrary<StompFrame> = fc
  .record({
    command: fc.constantFrom(...COMMANDS),
    headers: fc.uniqueArray(
      fc.tuple(
        text(12).filter((s) => s.length > 0),
        text(24),
      ),
      {
        maxLength: 6,
        selector: ([k]) => k,
      },
    ),
    body: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  })
  .map(({ command, headers, body }) => {
    const raw = command === 'CONNECT' || command === 'STOMP' || command === 'CONNECTED';
    const kept = headers
      .filter(([k]) => k !== 'content-length')
      // Unescaped headers cannot carry EOLs or a ':' in the name; a value's leading space is dropped by
      // design (clients that write "name: value").
      .filter(([k, v]) => !raw || (!/[\r\n:]/.test(k) && !/[\r\n]/.test(v)))
      .map(([k, v]): [string, string] => [k, v.startsWith(' ') ? `_${v}` : v]);
    return { command, headers: kept, body };
  });

/** The frame as a parser sees it after `serialize` (which appends content-length for a body). */
function expected(f: StompFrame): StompFrame {
  const headers = [...f.headers];
  if (f.body.length > 0) headers.push(['content-length', String(f.body.length)]);
  return { command: f.command, headers, body: f.body };
}

/** Frames with heart-beat EOLs between them. */
const streamArb = fc
  .array(fc.tuple(fc.constantFrom('', '\n', '\r\n', '\n\n'), frameArb), { minLength: 1, maxLength: 5 })
  .map((parts) => ({
    frames: parts.map(([, f]) => f),
    bytes: Buffer.concat(parts.flatMap(([eol, f]) => [Buffer.from(eol), serialize(f)])),
  }));

describe('fuzz: STOMP frame codec', () => {
  it('regression: line limits count bytes whether or not the line is complete in one chunk', () => {
    // Found by the mutation property: 20 four-byte characters are 80 bytes but 40 UTF-16 units, so the
    // command-line limit (64) refused them split into small chunks and accepted them whole.
    const command = Buffer.from(`${'\u{10000}'.repeat(20)}\n\n\0`);
    assert.equal(parse([command]).error, 'bad_frame');
    assert.deepStrictEqual(parse(chunk(command, [1])), parse([command]));
    // A header line too long before unescaping is refused the same way whole and in pieces.
    const header = Buffer.from(`SEND\nx:${'\\q'.repeat(300)}\n\n\0`);
    assert.equal(parse([header]).error, 'too_long_header');
    assert.deepStrictEqual(parse(chunk(header, [7])), parse([header]));
  });

  it('random bytes: no exception, frames or a frame error, same outcome in any chunking', () => {
    fc.assert(
      fc.property(bytesArb, cutsArb, (bytes, cuts) => {
        const b = Buffer.from(bytes);
        assert.deepStrictEqual(parse(chunk(b, cuts)), parse([b]));
      }),
      params(2000),
    );
  });

  it('valid frames round-trip, whole and in random chunks', () => {
    fc.assert(
      fc.property(streamArb, cutsArb, ({ frames, bytes }, cuts) => {
        const limits = { maxHeaders: 10, maxHeadersLength: 4096, maxBodyLength: 4096 };
        const whole = parse([bytes], limits);
        assert.equal(whole.error, undefined);
        assert.deepStrictEqual(whole.frames, frames.map(expected));
        assert.deepStrictEqual(parse(chunk(bytes, cuts), limits), whole);
      }),
      params(800),
    );
  });

  it('mutated valid streams: no exception, same outcome whole and chunked', () => {
    fc.assert(
      fc.property(streamArb, mutationsArb, cutsArb, ({ bytes }, edits, cuts) => {
        const m = mutate(bytes, edits);
        assert.deepStrictEqual(parse(chunk(m, cuts)), parse([m]));
      }),
      params(2000),
    );
  });
});

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
    const timer = setTimeout(finish, 300);
    s.on('error', finish);
    s.on('close', finish);
    s.on('data', () => undefined);
    s.on('connect', () => {
      for (const c of chunks) s.write(c);
    });
  });
}

const LOGIN = serialize({
  command: 'CONNECT',
  headers: [
    ['accept-version', '1.2'],
    ['host', 'hermod'],
  ],
  body: Buffer.alloc(0),
});

describe('fuzz: STOMP gateway over TCP', () => {
  let b: Awaited<ReturnType<typeof startStompBroker>>;
  before(async () => {
    b = await startStompBroker({
      stomp: { frame: { max_headers: 10, max_headers_length: 256, max_body_length: 1024 } },
    });
  });
  after(() => b.stop());

  it('batches of random and mutated streams (before and after login), then normal clients get through', async () => {
    let batch = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.boolean(),
            fc.oneof(
              fc.tuple(streamArb, mutationsArb).map(([s, edits]) => mutate(s.bytes, edits)),
              bytesArb.map((a) => Buffer.from(a)),
            ),
            cutsArb,
          ),
          { minLength: 10, maxLength: 10 },
        ),
        async (cases) => {
          await Promise.all(
            cases.map(([login, bytes, cuts]) =>
              sendRaw(b.stompPort, chunk(login ? Buffer.concat([LOGIN, bytes]) : bytes, cuts)),
            ),
          );
          const tag = `stomp-${batch++}`;
          const { c } = await StompRaw.login(b.stompPort);
          try {
            c.send('SUBSCRIBE', { id: '1', destination: `fuzz/${tag}`, receipt: 'r' });
            await c.next('RECEIPT');
            c.send('SEND', { destination: `fuzz/${tag}` }, tag);
            assert.equal((await c.next('MESSAGE')).body, tag);
          } finally {
            c.destroy();
          }
          await mqttRoundTrip(b.port, tag);
        },
      ),
      socketParams(4),
    );
  });
});
