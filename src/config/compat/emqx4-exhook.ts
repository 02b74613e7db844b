/**
 * EMQX 4.x's ExHook config form, `exhook.server.<name>.url = "http://127.0.0.1:9000"` (plus `.ssl.cacertfile`,
 * `.ssl.certfile`, `.ssl.keyfile` and the 4.x section-wide `request_timeout`, `request_failed_action`,
 * `auto_reconnect`, `pool_size`), read as entries of `exhook.servers`.
 */

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** 4.x section-wide keys → the per-server key they become. */
const SHARED_KEYS: Readonly<Record<string, string>> = {
  request_timeout: 'request_timeout',
  request_failed_action: 'failed_action',
  auto_reconnect: 'auto_reconnect',
  pool_size: 'pool_size',
};

/** The `exhook` section with `server.<name>` entries appended to `servers`; the same object when there are none. */
export function exhookServerAlias(exhook: unknown): unknown {
  if (!isObject(exhook) || !isObject(exhook.server)) return exhook;
  const { server, ...rest } = exhook;
  const shared: JsonObject = {};
  for (const [old, key] of Object.entries(SHARED_KEYS)) {
    if (old in rest) {
      shared[key] = rest[old];
      delete rest[old];
    }
  }
  const servers = Array.isArray(rest.servers) ? [...rest.servers] : [];
  for (const [name, entry] of Object.entries(server)) {
    // A non-object is passed on as it is, so validation names the bad key rather than losing it.
    if (!isObject(entry)) {
      servers.push({ name, url: entry });
      continue;
    }
    const out: JsonObject = { name, ...shared, ...entry };
    if (isObject(entry.ssl)) out.ssl = { enable: true, ...entry.ssl };
    servers.push(out);
  }
  return { ...rest, servers };
}

/** One warning per 4.x-form server (`path` is its url key), naming the form to write instead. */
export function exhookAliasNotes(exhook: unknown): Array<{ path: string; message: string }> {
  if (!isObject(exhook) || !isObject(exhook.server)) return [];
  return Object.entries(exhook.server).map(([name, entry]) => {
    const url = isObject(entry) && typeof entry.url === 'string' ? entry.url : '…';
    return {
      path: `exhook.server.${name}.url`,
      message:
        `exhook.server.${name}: EMQX 4.x form, read as an entry of exhook.servers; write it as ` +
        `exhook.servers = [{name = "${name}", url = "${url}"}]`,
    };
  });
}
