/** The STOMP codec without sockets: parsing at every split, escapes, limits, serialization; the heart-beat checker. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { header, StompCodec, type StompFrame, serialize } from '../../src/gateway/stomp/frame.js';
import { HeartbeatChecker, parseHeartBeat } from '../../src/gateway/stomp/heartbeat.js';

const LIMITS = { maxHeaders: 10, maxHeadersLength: 1024, maxBodyLength: 8192 };
const codec = (limits = LIMITS) => new StompCodec(limits);

function parseAll(input: Buffer | string, limits = LIMITS) {
  return codec(limits).feed(Buffer.isBuffer(input) ? input : Buffer.from(input));
}

function one(input: Buffer | string): StompFrame {
  const out = parseAll(input);
  assert.equal(out.error, undefined, out.error?.message);
  assert.equal(out.frames.length, 1);
  return out.frames[0]!;
}

const SEND = 'SEND\ndestination:/queue/a\nreceipt:1\n\nhello\0';

describe('stomp frame: parsing', () => {
  it('a frame with headers and a NUL-terminated body', () => {
    const f = one(SEND);
    assert.equal(f.command, 'SEND');
    assert.deepEqual(f.headers, [
      ['destination', '/queue/a'],
      ['receipt', '1'],
    ]);
    assert.equal(f.body.toString(), 'hello');
  });

  it('a content-length body may contain NUL bytes', () => {
    const body = Buffer.from([1, 0, 2, 0, 3]);
    const f = one(
      Buffer.concat([Buffer.from('SEND\ndestination:a\ncontent-length:5\n\n'), body, Buffer.from([0])]),
    );
    assert.deepEqual(f.body, body);
  });

  it('content-length not followed by NUL is a frame error', () => {
    const out = parseAll('SEND\ncontent-length:2\n\nabc\0');
    assert.equal(out.error?.reason, 'bad_frame');
  });

  it('bad content-length is a frame error', () => {
    assert.equal(parseAll('SEND\ncontent-length:x\n\n\0').error?.reason, 'bad_frame');
  });

  it('several frames in one chunk, with heart-beat EOLs (LF and CRLF) between them', () => {
    const out = parseAll(`\n\r\n${SEND}\n\n${SEND}\r\n${SEND}`);
    assert.equal(out.error, undefined);
    assert.equal(out.frames.length, 3);
  });

  it('frames split at every byte boundary parse the same', () => {
    const data = Buffer.from(
      `${SEND}\nMESSAGE\ncontent-length:3\nk:a\\cb\n\nx\0y\0\r\nSUBSCRIBE\r\nid:0\r\ndestination:t/#\r\n\r\n\0`,
    );
    const whole = codec().feed(data).frames;
    assert.equal(whole.length, 3);
    for (let cut = 1; cut < data.length; cut++) {
      const c = codec();
      const a = c.feed(data.subarray(0, cut));
      const b = c.feed(data.subarray(cut));
      assert.equal(a.error ?? b.error, undefined, `cut at ${cut}`);
      assert.deepEqual([...a.frames, ...b.frames], whole, `cut at ${cut}`);
    }
    // And one byte at a time.
    const c = codec();
    const frames: StompFrame[] = [];
    for (const byte of data) frames.push(...c.feed(Buffer.from([byte])).frames);
    assert.deepEqual(frames, whole);
  });

  it('CRLF line endings; a CR not followed by LF is an error', () => {
    assert.equal(one('SEND\r\ndestination:a\r\n\r\nb\0').body.toString(), 'b');
    assert.equal(parseAll('SEND\rdestination:a\n\n\0').error?.reason, 'bad_frame');
    assert.equal(parseAll('\rSEND\n\n\0').error?.reason, 'bad_frame');
  });

  it('decodes the four escapes in names and values; any other escape is an error', () => {
    const f = one('SEND\na\\cb:x\\ny\\rz\\\\w\\c\n\n\0');
    assert.equal(header(f, 'a:b'), 'x\ny\rz\\w:');
    const bad = parseAll('SEND\nk:a\\tb\n\n\0');
    assert.equal(bad.error?.reason, 'bad_frame');
    assert.match(bad.error!.message, /Frame error/);
  });

  it('CONNECT headers are not unescaped (STOMP 1.2 keeps them 1.0-compatible)', () => {
    const f = one('CONNECT\nlogin:a\\b\npasscode:p:q\n\n\0');
    assert.equal(header(f, 'login'), 'a\\b');
    assert.equal(header(f, 'passcode'), 'p:q');
  });

  it('repeated header: the first one wins; one space after the colon is dropped', () => {
    const f = one('SEND\nk:1\nk:2\nj: v\n\n\0');
    assert.equal(header(f, 'k'), '1');
    assert.equal(header(f, 'j'), 'v');
    assert.equal(f.headers.length, 2);
  });

  it('a header line without a colon is an error', () => {
    assert.equal(parseAll('SEND\nnocolon\n\n\0').error?.reason, 'bad_frame');
  });
});

describe('stomp frame: limits', () => {
  const small = { maxHeaders: 10, maxHeadersLength: 100, maxBodyLength: 1024 };

  it('too_many_headers', () => {
    let s = 'SEND\n';
    for (let i = 0; i < 11; i++) s += `h${i}:v\n`;
    const out = parseAll(`${s}\n\0`, small);
    assert.equal(out.error?.reason, 'too_many_headers');
    assert.match(out.error!.message, /too_many_headers/);
    let ok = 'SEND\n';
    for (let i = 0; i < 10; i++) ok += `h${i}:v\n`;
    assert.equal(parseAll(`${ok}\n\0`, small).error, undefined);
  });

  it('too_long_header compares name + value bytes', () => {
    assert.equal(parseAll(`SEND\nk:${'x'.repeat(99)}\n\n\0`, small).error, undefined);
    assert.equal(parseAll(`SEND\nk:${'x'.repeat(100)}\n\n\0`, small).error?.reason, 'too_long_header');
    // A never-ending header line fails as soon as it can no longer fit, not when memory runs out.
    const c = new StompCodec(small);
    assert.equal(c.feed(Buffer.from('SEND\n')).error, undefined);
    assert.equal(c.feed(Buffer.from('k:'.padEnd(300, 'x'))).error?.reason, 'too_long_header');
  });

  it('too_long_body with content-length and without', () => {
    assert.equal(parseAll(`SEND\n\n${'x'.repeat(1024)}\0`, small).error, undefined);
    assert.equal(parseAll(`SEND\n\n${'x'.repeat(1026)}\0`, small).error?.reason, 'too_long_body');
    assert.equal(parseAll('SEND\ncontent-length:1026\n\n', small).error?.reason, 'too_long_body');
    const c = new StompCodec(small);
    c.feed(Buffer.from('SEND\n\n'));
    assert.equal(c.feed(Buffer.alloc(2000, 0x61)).error?.reason, 'too_long_body');
  });

  it('garbage without a newline fails once it is longer than any command', () => {
    assert.equal(parseAll('x'.repeat(100)).error?.reason, 'bad_frame');
  });
});

describe('stomp frame: serializer', () => {
  it('escapes headers, adds content-length for a body, ends with NUL', () => {
    const b = serialize({ command: 'MESSAGE', headers: [['a:b', 'x\ny\\']], body: Buffer.from('hi') });
    assert.equal(b.toString(), 'MESSAGE\na\\cb:x\\ny\\\\\ncontent-length:2\n\nhi\0');
  });

  it('no content-length for an empty body; CONNECTED is not escaped', () => {
    assert.equal(
      serialize({ command: 'RECEIPT', headers: [['receipt-id', '1']], body: Buffer.alloc(0) }).toString(),
      'RECEIPT\nreceipt-id:1\n\n\0',
    );
    assert.equal(
      serialize({ command: 'CONNECTED', headers: [['server', 'a:b']], body: Buffer.alloc(0) }).toString(),
      'CONNECTED\nserver:a:b\n\n\0',
    );
  });

  it('round trip', () => {
    const f: StompFrame = {
      command: 'MESSAGE',
      headers: [
        ['k', 'v:\\\r\n'],
        ['content-length', '3'],
      ],
      body: Buffer.from([0, 1, 0]),
    };
    assert.deepEqual(one(serialize(f)), f);
  });
});

describe('stomp heart-beat', () => {
  it('parses heart-beat headers', () => {
    assert.deepEqual(parseHeartBeat(undefined), [0, 0]);
    assert.deepEqual(parseHeartBeat('1000,2000'), [1000, 2000]);
    assert.deepEqual(parseHeartBeat(' 5 , 6 '), [5, 6]);
    assert.equal(parseHeartBeat('1000'), undefined);
    assert.equal(parseHeartBeat('a,b'), undefined);
  });

  it('incoming: one silent interval is tolerated, the second times out; traffic resets', () => {
    const hb = new HeartbeatChecker(1000, 0, 10, 0);
    assert.equal(hb.checkIncoming(10), 'ok');
    assert.equal(hb.checkIncoming(10), 'timeout');
    const hb2 = new HeartbeatChecker(1000, 0, 10, 0);
    assert.equal(hb2.checkIncoming(10), 'ok');
    assert.equal(hb2.checkIncoming(11), 'ok');
    assert.equal(hb2.checkIncoming(11), 'ok');
    assert.equal(hb2.checkIncoming(11), 'timeout');
  });

  it('outgoing: a heart-beat is due only after a silent interval', () => {
    const hb = new HeartbeatChecker(0, 1000, 0, 100);
    assert.equal(hb.checkOutgoing(150), false);
    assert.equal(hb.checkOutgoing(150), true);
    hb.sent(151);
    assert.equal(hb.checkOutgoing(151), true);
  });
});
