/**
 * MQTT topics and filters as NATS subjects. NATS tokens may not hold `.`, `*`, `>` or white space and may
 * not be empty, while an MQTT level may hold anything; so a level of only [A-Za-z0-9_-] stays as it is
 * and any other level becomes `~` + base64url of its UTF-8 bytes (an empty level is `~`). The mapping is
 * reversible and keeps one subject token per MQTT level, so NATS wildcards match exactly as MQTT's do
 * (`+` → `*`, `#` → `>` plus the parent level). Topics whose first level starts with `$` live under their
 * own root, so filters that start with a wildcard never see them ([MQTT-4.7.2-1]).
 */

const PLAIN_LEVEL = /^[A-Za-z0-9_-]+$/;

/** One MQTT level as one NATS token. */
export function encodeLevel(level: string): string {
  if (PLAIN_LEVEL.test(level)) return level;
  return `~${Buffer.from(level, 'utf8').toString('base64url')}`;
}

/** The MQTT level of a token made by encodeLevel. */
export function decodeLevel(token: string): string {
  if (token.charCodeAt(0) !== 0x7e /* ~ */) return token;
  return Buffer.from(token.slice(1), 'base64url').toString('utf8');
}

/** The subject roots under a cluster's prefix: ordinary topics, `$` topics, and topics too long for a subject. */
export interface SubjectRoots {
  /** `<prefix>.m`: topics not starting with `$`. */
  plain: string;
  /** `<prefix>.d`: topics starting with `$`. */
  dollar: string;
  /** `<prefix>.long`: every node listens here and matches locally. */
  long: string;
}

export function subjectRoots(prefix: string): SubjectRoots {
  return { plain: `${prefix}.m`, dollar: `${prefix}.d`, long: `${prefix}.long` };
}

/**
 * The longest subject the bus carries as a subject; longer topics go to the `long` root. nats-server's
 * default control line is 4 KB and a longer one closes the whole connection (cluster.md §5.5), so stay
 * well below it whatever the server allows.
 */
export const MAX_SUBJECT_BYTES = 3800;

/** The subject a message on `topic` is published to (the `long` root when it would be too long). */
export function topicSubject(roots: SubjectRoots, topic: string): string {
  const root = topic.charCodeAt(0) === 0x24 /* $ */ ? roots.dollar : roots.plain;
  let s = root;
  let start = 0;
  for (;;) {
    const end = topic.indexOf('/', start);
    const level = end < 0 ? topic.slice(start) : topic.slice(start, end);
    s += `.${encodeLevel(level)}`;
    if (s.length > MAX_SUBJECT_BYTES) return roots.long;
    if (end < 0) return s;
    start = end + 1;
  }
}

/** The topic of a subject made by topicSubject (undefined for the long root or a foreign subject). */
export function subjectTopic(roots: SubjectRoots, subject: string): string | undefined {
  let rest: string;
  if (subject.startsWith(`${roots.plain}.`)) rest = subject.slice(roots.plain.length + 1);
  else if (subject.startsWith(`${roots.dollar}.`)) rest = subject.slice(roots.dollar.length + 1);
  else return undefined;
  return rest.split('.').map(decodeLevel).join('/');
}

/**
 * The subjects a node subscribes to for one MQTT filter: one, or two for `x/#` (which also matches `x`).
 * Empty when the filter's subject would be too long: every topic it matches is then at least as long, so
 * it arrives on the `long` root, which every node matches locally.
 */
export function filterSubjects(roots: SubjectRoots, filter: string): string[] {
  const levels = filter.split('/');
  const first = levels[0]!;
  // A filter starting with a wildcard does not match `$` topics, so it subscribes under the plain root only.
  const root = first.charCodeAt(0) === 0x24 ? roots.dollar : roots.plain;
  const tokens = levels.map((l) => (l === '+' ? '*' : l === '#' ? '>' : encodeLevel(l)));
  const subject = `${root}.${tokens.join('.')}`;
  if (subject.length > MAX_SUBJECT_BYTES) return [];
  if (levels[levels.length - 1] !== '#' || levels.length === 1) return [subject];
  const parent = `${root}.${tokens.slice(0, -1).join('.')}`;
  return [subject, parent];
}

/**
 * A KV key for any string (node names, client ids, topics): JetStream keys allow only [-/_=.A-Za-z0-9],
 * so the text is base64url-encoded; `_` stands for the empty string (no base64url text is one character).
 */
export function kvKey(text: string): string {
  return text === '' ? '_' : Buffer.from(text, 'utf8').toString('base64url');
}

/** The string a kvKey came from. */
export function fromKvKey(key: string): string {
  return key === '_' ? '' : Buffer.from(key, 'base64url').toString('utf8');
}
