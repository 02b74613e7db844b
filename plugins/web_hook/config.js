/** The plugin's config with its defaults, checked beyond what the JSON Schema says. */

const DEFAULTS = {
  url: 'http://127.0.0.1:8080/webhook',
  headers: {},
  encoding_of_payload_field: 'plain',
  rules: [],
  queue_max: 10000,
  batch_size: 1,
  pool_size: 8,
  retry_max: 2,
  retry_interval_ms: 1000,
  request_timeout_ms: 5000,
};

/** Fills in defaults; throws a message naming the bad key. */
export function normalizeConfig(raw) {
  const conf = { ...DEFAULTS, ...raw };
  let url;
  try {
    url = new URL(String(conf.url));
  } catch {
    throw new Error(`url: not a URL: ${conf.url}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`url: must be http or https: ${conf.url}`);
  if (!['plain', 'base64'].includes(conf.encoding_of_payload_field))
    throw new Error('encoding_of_payload_field: must be plain or base64');
  if (!Array.isArray(conf.rules)) throw new Error('rules: must be a list');
  for (const k of ['queue_max', 'batch_size', 'pool_size', 'request_timeout_ms'])
    if (!Number.isInteger(conf[k]) || conf[k] < 1) throw new Error(`${k}: must be an integer of at least 1`);
  for (const k of ['retry_max', 'retry_interval_ms'])
    if (!Number.isInteger(conf[k]) || conf[k] < 0) throw new Error(`${k}: must be an integer of at least 0`);
  const ssl = conf.ssl ?? {};
  if (ssl.verify !== undefined && !['verify_peer', 'verify_none'].includes(ssl.verify))
    throw new Error('ssl.verify: must be verify_peer or verify_none');
  const headers = {};
  for (const [k, v] of Object.entries(conf.headers ?? {})) headers[k] = String(v);
  return { ...conf, url: url.href, headers };
}
