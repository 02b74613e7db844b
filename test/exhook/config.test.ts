/** `exhook.servers` in the config schema: EMQX's keys, defaults and checks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/resolve.js';
import { CallCounter } from '../../src/exhook/metrics.js';

function servers(list: unknown[]) {
  return resolveConfig({ exhook: { servers: list } });
}

describe('exhook config', () => {
  it('fills EMQX defaults', () => {
    const r = servers([{ name: 'default', url: 'http://127.0.0.1:9000' }]);
    assert.ok(r.ok);
    const s = r.value.exhook.servers[0]!;
    assert.equal(s.enable, true);
    assert.equal(s.request_timeout, 5000);
    assert.equal(s.failed_action, 'deny');
    assert.equal(s.auto_reconnect, 60_000);
    assert.equal(s.pool_size, 8);
    assert.equal(s.ssl.enable, false);
    assert.equal(s.ssl.verify, 'verify_none');
    assert.deepEqual(s.ssl.versions, ['tlsv1.3', 'tlsv1.2']);
    assert.deepEqual(s.socket_options, { keepalive: true, nodelay: true });
  });

  it('reads auto_reconnect = false as never, and byte sizes of socket options', () => {
    const r = servers([
      {
        name: 'a',
        url: 'https://h:1',
        auto_reconnect: false,
        socket_options: { recbuf: '64KB', sndbuf: 1024 },
      },
    ]);
    assert.ok(r.ok);
    const s = r.value.exhook.servers[0]!;
    assert.equal(s.auto_reconnect, 0);
    assert.equal(s.socket_options.recbuf, 65536);
    assert.equal(s.socket_options.sndbuf, 1024);
  });

  it('refuses bad names, urls, actions and pool sizes', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: '-lead', url: 'http://h:1' }, /name/],
      [{ name: 'has space', url: 'http://h:1' }, /name/],
      [{ name: 'x'.repeat(257), url: 'http://h:1' }, /name/],
      [{ name: 'ok', url: 'grpc://h:1' }, /url/],
      [{ name: 'ok' }, /url/],
      [{ name: 'ok', url: 'http://h:1', failed_action: 'retry' }, /failed_action/],
      [{ name: 'ok', url: 'http://h:1', pool_size: 0 }, /pool_size/],
      [{ name: 'ok', url: 'http://h:1', request_timeout: 'soon' }, /request_timeout/],
      [{ name: 'ok', url: 'http://h:1', unknown_key: 1 }, /unknown_key/],
    ];
    for (const [server, re] of bad) {
      const r = servers([server]);
      assert.equal(r.ok, false, JSON.stringify(server));
      if (!r.ok) assert.match(r.errors.map((e) => e.path).join(' '), re);
    }
    assert.ok(servers([{ name: 'A1-b_c', url: 'HTTP://h:1' }]).ok);
  });
});

describe('exhook metrics', () => {
  it('samples rate and keeps the highest as max_rate', () => {
    const c = new CallCounter();
    const t0 = Date.now();
    c.sample(t0);
    c.succeed += 30;
    c.failed += 10;
    c.sample(t0 + 2000);
    assert.deepEqual(c.view(), { succeed: 30, failed: 10, rate: 20, max_rate: 20 });
    c.succeed += 5;
    c.sample(t0 + 3000);
    assert.deepEqual(c.view(), { succeed: 35, failed: 10, rate: 5, max_rate: 20 });
  });
});
