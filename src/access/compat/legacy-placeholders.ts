/**
 * EMQX 3.x/4.x wrote template placeholders as `%u`, `%c`, ... where EMQX 5 writes `${username}`,
 * `${clientid}`, ... Templates are read in both forms, so queries, Redis commands, LDAP DNs and HTTP params
 * pasted from a 4.x plugin config work as they are, and every value is still bound or escaped by its backend.
 */

/** The 4.x placeholder letters and the names they stand for. */
const LEGACY_NAMES: Readonly<Record<string, string>> = {
  u: 'username',
  c: 'clientid',
  a: 'peerhost',
  P: 'password',
  C: 'cert_common_name',
  d: 'cert_subject',
  t: 'topic',
  A: 'access',
};

/**
 * A `%x` directly followed by a letter, digit or underscore is left alone: it is text (a LIKE pattern such
 * as '%abc'), not a placeholder.
 */
const LEGACY = /%([ucaPCdtA])(?![A-Za-z0-9_])/g;

/** `source` with its 4.x placeholders written the EMQX 5 way; the same string when it has none. */
export function translateLegacyPlaceholders(source: string): string {
  if (!source.includes('%')) return source;
  return source.replace(LEGACY, (_, letter: string) => `\${${LEGACY_NAMES[letter]}}`);
}
