/** The gateway catalogue: each entry's routes loaded alone are the routes of the gateway's module. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GATEWAY_CATALOG } from '../../src/gateway/catalog.js';

describe('gateway catalogue', () => {
  it('loadRoutes gives the same routes as the loaded module', async () => {
    for (const m of GATEWAY_CATALOG) {
      assert.ok(m.loadRoutes !== undefined, `${m.name} has loadRoutes`);
      const alone = await m.loadRoutes();
      const full = (await m.load()).routes;
      assert.equal(alone, full, `${m.name}: routes`);
    }
  });
});
