/** Escaping of values placed into LDAP filters (RFC 4515) and DNs (RFC 4514). */

const FILTER_SPECIAL = new Set(['*', '(', ')', '\\', '\u0000']);
const DN_SPECIAL = new Set(['\\', ',', '+', '"', '<', '>', ';', '=']);

/** Escapes a value for use inside an LDAP search filter (RFC 4515). */
export function escapeFilterValue(v: string): string {
  // The filter metacharacters and NUL; UTF-8 text may stay as it is (RFC 4515 §3).
  let out = '';
  for (const c of v) out += FILTER_SPECIAL.has(c) ? `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c;
  return out;
}

/** Escapes a value for use as an attribute value in a DN (RFC 4514). */
export function escapeDnValue(v: string): string {
  let out = '';
  for (const c of v) out += c === '\u0000' ? '\\00' : DN_SPECIAL.has(c) ? `\\${c}` : c;
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}
