/**
 * EMQX 3.x/4.x's LDAP plugin bound as `user_dn = "uid=%u,ou=People,dc=example,dc=com"`. An ldap
 * authenticator given `user_dn` is read as EMQX 5's bind method: the entry is searched under the rest of the
 * DN with the first RDN as the filter (`(uid=${username})`, the value escaped), then bound as with the
 * client's password.
 */

/** `raw` with a 4.x `user_dn` turned into base_dn, filter and method bind; `raw` when it has none. */
export function withLegacyUserDn(raw: Record<string, unknown>): Record<string, unknown> {
  const dn = raw.user_dn;
  if (raw.backend !== 'ldap' || typeof dn !== 'string') return raw;
  const comma = firstUnescapedComma(dn);
  const rdn = (comma < 0 ? dn : dn.slice(0, comma)).trim();
  const base = comma < 0 ? '' : dn.slice(comma + 1).trim();
  const eq = rdn.indexOf('=');
  // Not a DN: left in place so validation names the key.
  if (eq <= 0) return raw;
  const { user_dn: _dropped, ...rest } = raw;
  const method = typeof rest.method === 'object' && rest.method !== null ? rest.method : { type: 'bind' };
  return { ...rest, base_dn: base, filter: `(${rdn})`, method };
}

function firstUnescapedComma(dn: string): number {
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === '\\') i++;
    else if (dn[i] === ',') return i;
  }
  return -1;
}
