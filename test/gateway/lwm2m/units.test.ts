/**
 * The gateway's own parsers on their own: registration queries and object lists, commands and the CoAP
 * requests they become, sorted JSON. fast-check: arbitrary input gives an answer, never an exception.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readCommand, splitPath, toRequest } from '../../../src/gateway/lwm2m/commands.js';
import { type ContentCodec, ContentError, type Link } from '../../../src/gateway/lwm2m/content/api.js';
import { type Json, parseObject, sortedJson } from '../../../src/gateway/lwm2m/json.js';
import {
  autoObservePaths,
  isQueueMode,
  readObjectList,
  readRegister,
} from '../../../src/gateway/lwm2m/registration.js';

/** A stand-in link parser for these tests only: `<target>;k=v` separated by commas, garbage refused. */
const links = (text: string): Link[] =>
  text.split(',').map((part) => {
    const m = /^\s*<([^<>]*)>((?:;[a-z]+(?:="?[^;",]*"?)?)*)\s*$/.exec(part);
    if (m === null) throw new ContentError(`bad link ${part}`);
    const params = new Map<string, string | true>();
    for (const p of m[2]!.split(';').slice(1)) {
      const [k, v] = p.split('=');
      params.set(k!, v === undefined ? true : v.replace(/"/g, ''));
    }
    return { target: m[1]!, params };
  });

/** A stand-in codec for these tests only: writes must be Strings. */
const codec: ContentCodec = {
  decode: () => [],
  encode: (_base, writes) => {
    for (const w of writes) if (w.type !== 'String') throw new ContentError(`cannot encode ${w.type}`);
    return { contentFormat: 11542, payload: Buffer.from(writes.map((w) => String(w.value)).join()) };
  },
};

const q = (s: string) => new Map(s.split('&').map((kv) => kv.split('=') as [string, string]));

describe('lwm2m gateway parsers', () => {
  it('register: ep and lt required, versions 1, 1.0, 1.0.x, 1.1; secrets left out; lt a number', () => {
    const ok = readRegister(
      q('ep=e1&lt=60&lwm2m=1.1&b=UQ&password=x&access_token=y'),
      Buffer.from('</1/0>,</3/0>'),
      links,
    );
    assert.ok(typeof ok !== 'string');
    assert.deepEqual(ok.info, {
      ep: 'e1',
      lt: 60,
      lwm2m: '1.1',
      b: 'UQ',
      alternatePath: '/',
      objectList: ['/1/0', '/3/0'],
    });
    assert.ok(isQueueMode(ok.info));
    for (const v of ['1', '1.0', '1.0.2', '1.1'])
      assert.ok(typeof readRegister(q(`ep=a&lt=1&lwm2m=${v}`), Buffer.alloc(0), links) !== 'string');
    assert.equal(readRegister(q('lt=1'), Buffer.alloc(0), links), 'missing ep');
    assert.equal(readRegister(q('ep=a'), Buffer.alloc(0), links), 'missing lt');
    assert.equal(
      readRegister(q('ep=a&lt=1&lwm2m=1.2'), Buffer.alloc(0), links),
      'unsupported lwm2m version 1.2',
    );
  });

  it('object list: the alternate path is left out and stripped; non-object links refused', () => {
    assert.deepEqual(
      readObjectList(Buffer.from('</lwm2m>;rt="oma.lwm2m", </lwm2m/1/0>, </lwm2m/3/0>'), links),
      {
        alternatePath: '/lwm2m',
        objectList: ['/1/0', '/3/0'],
      },
    );
    assert.match(String(readObjectList(Buffer.from('</a/b>'), links)), /invalid object link/);
    assert.match(String(readObjectList(Buffer.from('<<<'), links)), /invalid link-format/);
    assert.equal(readObjectList(Buffer.from('  '), links), undefined);
  });

  it('auto observe: everything but the ignored objects, or the configured paths that registered', () => {
    const list = ['/1/0', '/3/0', '/5/0', '/3303/0'];
    assert.deepEqual(autoObservePaths(true, list), ['/3/0', '/3303/0']);
    assert.deepEqual(autoObservePaths(['/1/0', '/9/0'], list), ['/1/0']);
    assert.deepEqual(autoObservePaths(false, list), []);
  });

  it('commands: paths, methods and options', () => {
    assert.deepEqual(splitPath('/3/0/1?a=1&b'), { ids: ['3', '0', '1'], query: ['a=1', 'b'] });
    assert.equal(splitPath('/3/x'), undefined);
    assert.equal(splitPath('/1/2/3/4/5'), undefined);
    assert.equal(splitPath('/70000'), undefined);
    const rc = { codec, alternatePath: '/lw', lwm2mVersion: '1.0' };
    const req = (raw: { [k: string]: Json }) => {
      const c = readCommand(raw);
      assert.ok(!('error' in c), JSON.stringify(c));
      return toRequest(c, rc);
    };
    const read = req({ msgType: 'read', data: { path: '/3/0/1' } });
    assert.ok(!('error' in read));
    assert.deepEqual([read.code, read.path], ['0.01', ['lw', '3', '0', '1']]);
    const batch = req({
      msgType: 'write',
      data: { basePath: '/3/0', content: [{ path: '/1', type: 'String', value: 'x' }] },
    });
    assert.ok(!('error' in batch) && batch.code === '0.02');
    const bad = req({ msgType: 'write', data: { path: '/3/0/1', type: 'Integer', value: 1 } });
    assert.ok('error' in bad && /cannot encode/.test(bad.error));
    assert.ok('error' in readCommand({ msgType: 'nope', data: { path: '/1' } }));
    assert.ok('error' in readCommand({ msgType: 'read' }));
  });

  it('sorted JSON: byte order at every level, undefined left out', () => {
    assert.equal(
      sortedJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined }, B: null }),
      '{"B":null,"a":{"d":[{"y":2,"z":1}]},"b":1}',
    );
  });

  it('fuzz: arbitrary commands and registrations give an answer, never an exception', () => {
    const rc = { codec, alternatePath: '/', lwm2mVersion: '1.1' };
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.constantFrom('read', 'write', 'create', 'write-attr', 'execute', 'discover'),
        (data, msgType) => {
          const parsed = parseObject(Buffer.from(JSON.stringify({ msgType, data })));
          if (typeof parsed === 'string') return;
          const c = readCommand(parsed);
          if (!('error' in c)) toRequest(c, rc);
        },
      ),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        parseObject(Buffer.from(bytes));
      }),
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('ep', 'lt', 'lwm2m', 'b', 'x'), fc.string()),
        fc.string(),
        (query, payload) => {
          readRegister(new Map(Object.entries(query)), Buffer.from(payload), links);
        },
      ),
      { numRuns: 500 },
    );
  });
});
