/**
 * acl.conf in EMQX's Erlang-term syntax: a sequence of `{Permission, Who, Action, Topics}.` and
 * `{Permission, all}.` terms, `%` comments. Parsed into rules; an error names the line and what was wrong.
 */
import {
  type ActionKind,
  attrMatcher,
  EVERYONE,
  fieldMatcher,
  ipMatcher,
  parseAction,
  parseQos,
  parseRetain,
  type Rule,
  type TopicPattern,
  topicPattern,
  type Who,
} from './rules.js';

/** An Erlang term as the parser returns it. */
export type Term = { atom: string } | string | number | { tuple: Term[] } | Term[];

/** A syntax or meaning error in acl.conf, with its line. */
export class AclFileError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`acl.conf line ${line}: ${message}`);
    this.name = 'AclFileError';
  }
}

interface Token {
  kind: 'punct' | 'atom' | 'string' | 'int';
  value: string;
  line: number;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) i++;
    else if (c === '%') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if ('{}[],'.includes(c)) {
      out.push({ kind: 'punct', value: c, line });
      i++;
    } else if (c === '.') {
      out.push({ kind: 'punct', value: '.', line });
      i++;
    } else if (c === '<' && src.startsWith('<<"', i)) {
      // Binaries <<"text">> are strings here.
      const [s, next, lines] = readString(src, i + 2, line);
      if (!src.startsWith('>>', next)) throw new AclFileError(line, 'unterminated binary');
      out.push({ kind: 'string', value: s, line });
      line += lines;
      i = next + 2;
    } else if (c === '"') {
      const [s, next, lines] = readString(src, i, line);
      out.push({ kind: 'string', value: s, line });
      line += lines;
      i = next;
    } else if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) throw new AclFileError(line, 'unterminated quoted atom');
      out.push({ kind: 'atom', value: src.slice(i + 1, end), line });
      i = end + 1;
    } else if (/[a-z]/.test(c)) {
      const m = /^[a-z][A-Za-z0-9_@]*/.exec(src.slice(i))!;
      out.push({ kind: 'atom', value: m[0], line });
      i += m[0].length;
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?[0-9]+/.exec(src.slice(i));
      if (m === null) throw new AclFileError(line, `unexpected ${JSON.stringify(c)}`);
      out.push({ kind: 'int', value: m[0], line });
      i += m[0].length;
    } else throw new AclFileError(line, `unexpected ${JSON.stringify(c)}`);
  }
  return out;
}

function readString(src: string, start: number, line: number): [string, number, number] {
  let s = '';
  let lines = 0;
  for (let i = start + 1; i < src.length; i++) {
    const c = src[i]!;
    if (c === '"') return [s, i + 1, lines];
    if (c === '\n') lines++;
    if (c === '\\') {
      const n = src[++i];
      s += n === 'n' ? '\n' : n === 't' ? '\t' : (n ?? '');
    } else s += c;
  }
  throw new AclFileError(line, 'unterminated string');
}

/** Parses the text into its top-level terms, each with the line it starts on. */
export function parseTerms(src: string): Array<{ term: Term; line: number }> {
  const toks = tokenize(src);
  let pos = 0;
  const peek = () => toks[pos];
  const lastLine = () => toks[toks.length - 1]?.line ?? 1;
  const expect = (v: string) => {
    const t = toks[pos++];
    if (t?.kind !== 'punct' || t.value !== v)
      throw new AclFileError(t?.line ?? lastLine(), `expected "${v}"`);
  };
  const term = (): Term => {
    const t = toks[pos++];
    if (t === undefined) throw new AclFileError(lastLine(), 'unexpected end of file');
    if (t.kind === 'atom') return { atom: t.value };
    if (t.kind === 'string') return t.value;
    if (t.kind === 'int') return Number(t.value);
    if (t.value === '{' || t.value === '[') {
      const close = t.value === '{' ? '}' : ']';
      const items: Term[] = [];
      if (peek()?.value !== close) {
        for (;;) {
          items.push(term());
          if (peek()?.value === ',') pos++;
          else break;
        }
      }
      expect(close);
      return t.value === '{' ? { tuple: items } : items;
    }
    throw new AclFileError(t.line, `unexpected "${t.value}"`);
  };
  const out: Array<{ term: Term; line: number }> = [];
  while (pos < toks.length) {
    const line = toks[pos]!.line;
    const t = term();
    expect('.');
    out.push({ term: t, line });
  }
  return out;
}

const isAtom = (t: Term, name?: string): t is { atom: string } =>
  typeof t === 'object' && t !== null && 'atom' in t && (name === undefined || t.atom === name);
const isTuple = (t: Term): t is { tuple: Term[] } => typeof t === 'object' && t !== null && 'tuple' in t;

function textOrRe(t: Term | undefined): string | RegExp {
  if (typeof t === 'string') return t;
  if (
    t !== undefined &&
    isTuple(t) &&
    t.tuple.length === 2 &&
    isAtom(t.tuple[0]!, 're') &&
    typeof t.tuple[1] === 'string'
  )
    return new RegExp(t.tuple[1]);
  throw new Error('expected "text" or {re, "regex"}');
}

function who(t: Term): Who {
  if (isAtom(t, 'all')) return EVERYONE;
  if (!isTuple(t) || t.tuple.length < 2 || !isAtom(t.tuple[0]!)) throw new Error('bad who');
  const [head, a, b] = t.tuple;
  switch ((head as { atom: string }).atom) {
    case 'user':
    case 'username':
      return fieldMatcher('username', textOrRe(a));
    case 'client':
    case 'clientid':
      return fieldMatcher('clientid', textOrRe(a));
    case 'ipaddr':
      if (typeof a !== 'string') throw new Error('ipaddr needs a "CIDR" string');
      return ipMatcher([a]);
    case 'ipaddrs':
      if (!Array.isArray(a) || a.some((x) => typeof x !== 'string'))
        throw new Error('ipaddrs needs a list of strings');
      return ipMatcher(a as string[]);
    case 'client_attr': {
      if (typeof a !== 'string') throw new Error('client_attr needs a name');
      return attrMatcher(a, textOrRe(b));
    }
    case 'and':
    case 'or': {
      if (!Array.isArray(a)) throw new Error(`${(head as { atom: string }).atom} needs a list`);
      const parts = a.map(who);
      return (head as { atom: string }).atom === 'and'
        ? (ci) => parts.every((p) => p(ci))
        : (ci) => parts.some((p) => p(ci));
    }
    default:
      throw new Error(`unknown who ${(head as { atom: string }).atom}`);
  }
}

function action(t: Term): { action: ActionKind; qos: number[] | undefined; retain: boolean | undefined } {
  if (isAtom(t)) return { action: parseAction(t.atom), qos: undefined, retain: undefined };
  if (isTuple(t) && t.tuple.length === 2 && isAtom(t.tuple[0]!) && Array.isArray(t.tuple[1])) {
    let qos: number[] | undefined;
    let retain: boolean | undefined;
    for (const opt of t.tuple[1]) {
      if (!isTuple(opt) || opt.tuple.length !== 2 || !isAtom(opt.tuple[0]!))
        throw new Error('bad action option');
      const v = opt.tuple[1]!;
      if (opt.tuple[0].atom === 'qos') qos = parseQos(Array.isArray(v) ? v : [v]);
      else if (opt.tuple[0].atom === 'retain') retain = parseRetain(isAtom(v) ? v.atom : v);
      else throw new Error(`unknown action option ${opt.tuple[0].atom}`);
    }
    return { action: parseAction(t.tuple[0].atom), qos, retain };
  }
  throw new Error('bad action');
}

function topics(t: Term): readonly TopicPattern[] | 'all' {
  if (isAtom(t, 'all')) return 'all';
  const list = Array.isArray(t) ? t : [t];
  return list.map((x) => {
    if (typeof x === 'string') return topicPattern(x);
    if (isTuple(x) && x.tuple.length === 2 && isAtom(x.tuple[0]!, 'eq') && typeof x.tuple[1] === 'string')
      return topicPattern(x.tuple[1], true);
    throw new Error('a topic is "filter" or {eq, "topic"}');
  });
}

/** Compiles acl.conf text into rules; throws AclFileError on the first bad term. */
export function compileAclFile(src: string): Rule[] {
  return parseTerms(src).map(({ term, line }) => {
    try {
      if (!isTuple(term) || !isAtom(term.tuple[0]!)) throw new Error('a rule is a tuple {Permission, …}');
      const perm = (term.tuple[0] as { atom: string }).atom;
      if (perm !== 'allow' && perm !== 'deny')
        throw new Error(`permission must be allow or deny, not ${perm}`);
      if (term.tuple.length === 2 && isAtom(term.tuple[1]!, 'all'))
        return {
          permission: perm,
          who: EVERYONE,
          action: 'all',
          qos: undefined,
          retain: undefined,
          topics: 'all',
        } satisfies Rule;
      if (term.tuple.length !== 4)
        throw new Error('a rule is {Permission, Who, Action, Topics} or {Permission, all}');
      const a = action(term.tuple[2]!);
      return {
        permission: perm,
        who: who(term.tuple[1]!),
        ...a,
        topics: topics(term.tuple[3]!),
      } satisfies Rule;
    } catch (err) {
      if (err instanceof AclFileError) throw err;
      throw new AclFileError(line, (err as Error).message);
    }
  });
}
