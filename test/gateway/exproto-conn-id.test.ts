/** ExProto connection ids: what the gateway mints is recognised; nothing else is mistaken for one or throws. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isConnId, mintConnId } from '../../src/gateway/exproto/conn-id.js';

describe('exproto: connection ids', () => {
  it('every minted id is an id, and distinct serials give distinct ids', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.string({ minLength: 1 }), (a, b, node) => {
        assert.ok(isConnId(mintConnId(a, node)));
        assert.equal(mintConnId(a, node) === mintConnId(b, node), a === b);
      }),
    );
  });

  it('any string is answered without throwing; text that is not base64 of "<n>@<node>" is refused', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const ok = isConnId(s);
        if (ok) assert.match(Buffer.from(s, 'base64').toString(), /^[0-9]+@/);
      }),
    );
    for (const bad of ['', 'not an id!', 'YWJj', Buffer.from('x@node').toString('base64'), '====']) {
      assert.equal(isConnId(bad), false, bad);
    }
  });
});
