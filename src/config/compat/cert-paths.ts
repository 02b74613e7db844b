/**
 * EMQX expands an environment variable at the start of a TLS file path when it loads the file, so its
 * example configs write `certfile = "${EMQX_ETC_DIR}/certs/cert.pem"` in quotes, where HOCON itself does not
 * substitute. Hermod expands those at load time the same way (only a leading `$VAR` or `${VAR}`), with
 * EMQX's directory variables defaulting to Hermod's own directories.
 */
import { dirname, resolve as resolvePath } from 'node:path';

type JsonObject = Record<string, unknown>;

/** Keys that name a TLS file. */
const FILE_KEYS = new Set(['certfile', 'keyfile', 'cacertfile']);
/** Objects that hold TLS options. */
const TLS_OBJECTS = new Set(['ssl_options', 'ssl', 'dtls_options']);
const LEADING_VAR = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/;

/** Where EMQX's directory variables point when the environment does not set them. */
export function emqxDirDefaults(configFile: string | undefined, dataDir: string): Record<string, string> {
  return {
    EMQX_ETC_DIR: configFile === undefined ? 'etc' : dirname(resolvePath(configFile)),
    EMQX_DATA_DIR: dataDir,
    EMQX_LOG_DIR: 'log',
  };
}

/** `path` with a leading `$VAR` / `${VAR}` replaced; unchanged when the variable is unknown. */
export function expandLeadingVar(
  path: string,
  env: Record<string, string | undefined>,
  defaults: Record<string, string>,
): string {
  const m = LEADING_VAR.exec(path);
  if (m === null) return path;
  const name = (m[1] ?? m[2])!;
  const value = env[name] || defaults[name];
  return value === undefined ? path : value + path.slice(m[0].length);
}

/** Expands the TLS file paths of `raw` in place (every ssl_options / ssl object at any depth). */
export function expandCertPaths(
  raw: JsonObject,
  env: Record<string, string | undefined>,
  defaults: Record<string, string>,
): void {
  const visit = (v: unknown, inTls: boolean): void => {
    if (Array.isArray(v)) {
      for (const item of v) visit(item, false);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    const obj = v as JsonObject;
    for (const [k, child] of Object.entries(obj)) {
      if (inTls && FILE_KEYS.has(k) && typeof child === 'string') {
        obj[k] = expandLeadingVar(child, env, defaults);
      } else {
        visit(child, TLS_OBJECTS.has(k));
      }
    }
  };
  visit(raw, false);
}
