/**
 * Listeners configured the way EMQX's example files write them work at runtime: quoted ${EMQX_ETC_DIR}
 * certificate paths, ciphers as one comma-separated string, ssl_options.log_level, "1000/s" rates,
 * websocket.deflate_opts, and a dashboard HTTPS listener started by its bind alone.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatConfigError, loadConfig } from '../../src/config/load.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end } from '../helpers/clients.js';
import { fixture, readFixture } from '../helpers/fixtures.js';
import { freePort } from '../helpers/servers/common.js';

/** GET over HTTPS trusting the test CA; resolves to the status code. */
function httpsStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, ca: readFixture('certs', 'ca.pem'), servername: 'localhost' },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('EMQX-style listener config at runtime', () => {
  const etc = mkdtempSync(join(tmpdir(), 'hermod-emqx-etc-'));
  let b: TestBroker;
  let httpsPort: number;

  before(async () => {
    mkdirSync(join(etc, 'certs'));
    copyFileSync(fixture('certs', 'server.pem'), join(etc, 'certs', 'cert.pem'));
    copyFileSync(fixture('certs', 'server.key'), join(etc, 'certs', 'key.pem'));
    copyFileSync(fixture('certs', 'ca.pem'), join(etc, 'certs', 'cacert.pem'));
    httpsPort = await freePort();
    const file = join(etc, 'emqx.conf');
    writeFileSync(
      file,
      `listeners.ssl.default {
  bind = "127.0.0.1:0"
  enabled = true
  max_conn_rate = "1000/s"
  messages_rate = "1000/s"
  bytes_rate = "1MB/s"
  ssl_options {
    cacertfile = "\${EMQX_ETC_DIR}/certs/cacert.pem"
    certfile = "\${EMQX_ETC_DIR}/certs/cert.pem"
    keyfile = "$EMQX_ETC_DIR/certs/key.pem"
    versions = [tlsv1.2]
    ciphers = "ECDHE-RSA-AES256-GCM-SHA384,ECDHE-RSA-AES128-GCM-SHA256,ECDHE-ECDSA-AES128-GCM-SHA256"
    log_level = notice
  }
}
listeners.ws.default {
  bind = "127.0.0.1:0"
  websocket.deflate_opts { mem_level = 8, strategy = "default", server_context_takeover = "takeover" }
}
dashboard.listeners.https {
  bind = "127.0.0.1:${httpsPort}"
  ssl_options {
    certfile = "\${EMQX_ETC_DIR}/certs/cert.pem"
    keyfile = "\${EMQX_ETC_DIR}/certs/key.pem"
  }
}
`,
    );
    const loaded = loadConfig({ file, env: { EMQX_ETC_DIR: etc }, dataDir: etc });
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.errors.map(formatConfigError).join('\n'));
    b = await startBroker({ api: true, ws: true, config: loaded.raw });
  });
  after(async () => {
    await b?.stop();
    rmSync(etc, { recursive: true, force: true });
  });

  it('serves MQTT over TLS with the certificates under ${EMQX_ETC_DIR} and the listed ciphers', async () => {
    const c = await connectClient(b.node.port('ssl:default'), {
      protocol: 'mqtts',
      ca: readFixture('certs', 'ca.pem'),
      servername: 'localhost',
    });
    const cipher = (c.stream as unknown as { getCipher(): { name: string } }).getCipher().name;
    assert.ok(
      [
        'ECDHE-RSA-AES256-GCM-SHA384',
        'ECDHE-RSA-AES128-GCM-SHA256',
        'ECDHE-ECDSA-AES128-GCM-SHA256',
      ].includes(cipher),
      cipher,
    );
    assert.equal(b.config.listeners.ssl.default!.max_conn_rate, 1000);
    await end(c);
  });

  it('serves MQTT over WebSocket with deflate_opts written', async () => {
    const c = await connectClient(b.wsPort!, { protocol: 'ws', path: '/mqtt' });
    await end(c);
  });

  it('starts the dashboard HTTPS listener because a bind is set', async () => {
    assert.equal(await httpsStatus(httpsPort, '/api/v5/status'), 200);
  });
});
