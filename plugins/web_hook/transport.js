/**
 * POSTs one JSON text to the endpoint over keep-alive connections (http or https). For https, EMQX 4.x's
 * `ssl` keys: `cacertfile`, `certfile`/`keyfile` (client certificate), `verify` (verify_peer, the default,
 * or verify_none) and `server_name_indication`.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

/** Builds the agent and request options once per start; throws on an unreadable certificate file. */
export function makeTransport(conf) {
  const url = new URL(conf.url);
  const secure = url.protocol === 'https:';
  const ssl = conf.ssl ?? {};
  const tls = secure
    ? {
        ca: ssl.cacertfile ? readFileSync(ssl.cacertfile) : undefined,
        cert: ssl.certfile ? readFileSync(ssl.certfile) : undefined,
        key: ssl.keyfile ? readFileSync(ssl.keyfile) : undefined,
        rejectUnauthorized: ssl.verify !== 'verify_none',
        servername: ssl.server_name_indication || undefined,
      }
    : {};
  const agent = new (secure ? https : http).Agent({ keepAlive: true, maxSockets: conf.pool_size, ...tls });
  const headers = { 'content-type': 'application/json', ...conf.headers };
  return {
    /** Resolves with the HTTP status, rejects on a network error or timeout. */
    post(body) {
      return new Promise((resolve, reject) => {
        const req = (secure ? https : http).request(
          url,
          {
            method: 'POST',
            agent,
            headers: { ...headers, 'content-length': Buffer.byteLength(body) },
            timeout: conf.request_timeout_ms,
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error('request timed out')));
        req.on('error', reject);
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
