/**
 * The hand-written OnMessagePublish request encoder: what an ExHook server decodes from it is what it
 * decodes from protobufjs's encoding of the same request.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { LOADER_OPTIONS, protoPath } from '../../src/exhook/proto.js';
import { encodePublishRequest } from '../../src/exhook/publish-codec.js';

const service = loadSync(protoPath(), LOADER_OPTIONS)['emqx.exhook.v3.HookProvider'] as unknown as Record<
  string,
  MethodDefinition<object, object>
>;
const publish = service.OnMessagePublish!;

const meta = { node: 'hermod@127.0.0.1', version: '5.8.0', sysdescr: 'Hermod', cluster_name: 'hermod' };

function message(over: Record<string, unknown> = {}) {
  return {
    node: 'hermod@127.0.0.1',
    id: '0005F1A2B3C4D5E6F708',
    qos: 1,
    from: 'client-ü-1',
    topic: 'a/ünïcode/🙂',
    payload: Buffer.from('hello'),
    timestamp: 1_764_000_000_123,
    headers: { username: 'u', protocol: 'mqtt', peerhost: '::1', allow_publish: 'true' },
    ...over,
  };
}

describe('exhook: OnMessagePublish request encoder', () => {
  const cases: Array<[string, object]> = [
    ['a plain v3 request', { message: message(), meta, props: [], user_props: [] }],
    [
      'properties, repeated user properties, empty values',
      {
        message: message({ qos: 0, payload: Buffer.alloc(0), headers: { username: '' } }),
        meta,
        props: [
          { name: 'Content-Type', value: 'text/plain' },
          { name: 'Response-Topic', value: '' },
        ],
        user_props: [
          { name: 'k', value: 'v1' },
          { name: 'k', value: 'v2' },
          { name: '', value: '' },
        ],
      },
    ],
    ['a v2 request (no props)', { message: message({ qos: 2, payload: Buffer.alloc(300, 7) }), meta }],
    ['a large payload', { message: message({ payload: Buffer.alloc(70_000, 1), headers: {} }), meta }],
  ];
  for (const [name, req] of cases) {
    it(`decodes as protobufjs's encoding does: ${name}`, () => {
      assert.deepEqual(
        publish.requestDeserialize(encodePublishRequest(req)),
        publish.requestDeserialize(publish.requestSerialize(req)),
      );
    });
  }

  it('follows a changed meta', () => {
    const other = { ...meta, node: 'other@host' };
    const req = { message: message(), meta: other };
    assert.equal(
      (publish.requestDeserialize(encodePublishRequest(req)) as { meta: typeof meta }).meta.node,
      'other@host',
    );
    const back = { message: message(), meta };
    assert.equal(
      (publish.requestDeserialize(encodePublishRequest(back)) as { meta: typeof meta }).meta.node,
      meta.node,
    );
  });
});
