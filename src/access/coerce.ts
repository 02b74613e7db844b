/** Turning loosely typed backend values (SQL columns, Redis strings, JSON claims) into what access control uses. */

/**
 * EMQX's is_superuser coercion: true for `true`, "true", and integers or numeric strings ≥ 1; everything
 * else (including "yes", 0.5 and objects) is false.
 */
export function isSuperuser(v: unknown): boolean {
  if (v === true) return true;
  if (typeof v === 'number') return Number.isInteger(v) && v >= 1;
  if (typeof v === 'bigint') return v >= 1n;
  if (Buffer.isBuffer(v)) return isSuperuser(v.toString('utf8'));
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true') return true;
    if (!/^[0-9]+$/.test(s)) return false;
    return Number(s) >= 1;
  }
  return false;
}

/** client_attrs from a backend: a flat map of string values (others are dropped). */
export function clientAttrs(v: unknown): Record<string, string> | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'string') out[k] = x;
    else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
  }
  return out;
}

/** A column or field value as text ('' for null/undefined; Buffers decoded as UTF-8). */
export function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return String(v);
}

/** An epoch-seconds expiry from a number or numeric string, or undefined. */
export function epochSeconds(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
}
