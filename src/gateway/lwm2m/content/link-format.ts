// CoRE link-format (RFC 6690, content format 40): registration payloads (`</1/0>,</3/0>;ver=1.1`) and
// discover answers. Parameter values may be quoted, and quotes may hold `;` and `,`.
import { ContentError, type Link } from './api.js';

/** A link plus the exact text it was parsed from (discover answers are relayed as the device wrote them). */
export interface ParsedLink extends Link {
  readonly text: string;
}

/** Parses a link-format document; whitespace around links and separators is allowed; throws ContentError. */
export function parseLinkFormat(doc: string): ParsedLink[] {
  return new LinkParser(doc).links();
}

/** The links of a document as their own text, split on the commas outside quotes. */
export function splitLinkFormat(doc: string): string[] {
  return parseLinkFormat(doc).map((l) => l.text);
}

/** Serializes links; values are quoted when they hold more than a ptoken, and always for rt/if/anchor/title. */
export function serializeLinkFormat(links: readonly Link[]): string {
  return links.map(serializeLink).join(',');
}

export function serializeLink(link: Link): string {
  if (link.target.includes('>')) throw new ContentError(`link target "${link.target}" contains ">"`);
  let out = `<${link.target}>`;
  for (const [name, value] of link.params) {
    if (!PARAM_NAME.test(name)) throw new ContentError(`link parameter name "${name}" is not a token`);
    out += `;${name}`;
    if (value === true) continue;
    out +=
      ALWAYS_QUOTED.has(name) || !PTOKEN.test(value) ? `="${value.replace(/["\\]/g, '\\$&')}"` : `=${value}`;
  }
  return out;
}

/** RFC 6690 ptoken characters (an unquoted value). */
const PTOKEN = /^[!#$%&'()*+\-./0-9:<=>?@A-Z[\]^_`a-z{|}~]+$/;
const PARAM_NAME = /^[!#$%&'*+\-.0-9A-Z^_`a-z|~]+$/;
const ALWAYS_QUOTED = new Set(['rt', 'if', 'anchor', 'title', 'rel', 'rev', 'type']);

class LinkParser {
  private at = 0;

  constructor(private readonly doc: string) {}

  links(): ParsedLink[] {
    const out: ParsedLink[] = [];
    this.skipSpace();
    if (this.at === this.doc.length) return out;
    for (;;) {
      out.push(this.link());
      this.skipSpace();
      if (this.at === this.doc.length) return out;
      this.expect(',');
      this.skipSpace();
    }
  }

  private link(): ParsedLink {
    const start = this.at;
    this.expect('<');
    const close = this.doc.indexOf('>', this.at);
    if (close < 0) this.fail('a link target is not closed with ">"');
    const target = this.doc.slice(this.at, close);
    if (target.includes('<')) this.fail('a link target contains "<"');
    this.at = close + 1;
    const params = new Map<string, string | true>();
    for (;;) {
      this.skipSpace();
      if (this.peek() !== ';') break;
      this.at++;
      this.skipSpace();
      const name = this.token(PARAM_CHAR, 'a parameter name');
      this.skipSpace();
      let value: string | true = true;
      if (this.peek() === '=') {
        this.at++;
        this.skipSpace();
        value = this.peek() === '"' ? this.quoted() : this.token(VALUE_CHAR, 'a parameter value');
      }
      // The first occurrence wins: later duplicates cannot redefine what a link said.
      if (!params.has(name)) params.set(name, value);
    }
    return { target, params, text: this.doc.slice(start, this.at).trim() };
  }

  private quoted(): string {
    this.at++; // opening quote
    let out = '';
    while (this.at < this.doc.length) {
      const c = this.doc[this.at++]!;
      if (c === '"') return out;
      if (c === '\\') {
        if (this.at === this.doc.length) break;
        out += this.doc[this.at++];
      } else {
        out += c;
      }
    }
    return this.fail('a quoted value is not closed');
  }

  private token(allowed: RegExp, what: string): string {
    const start = this.at;
    while (this.at < this.doc.length && allowed.test(this.doc[this.at]!)) this.at++;
    if (this.at === start) this.fail(`${what} is missing`);
    return this.doc.slice(start, this.at);
  }

  private expect(c: string): void {
    if (this.peek() !== c) this.fail(`"${c}" expected`);
    this.at++;
  }

  private peek(): string | undefined {
    return this.doc[this.at];
  }

  private skipSpace(): void {
    while (this.at < this.doc.length && SPACE.test(this.doc[this.at]!)) this.at++;
  }

  private fail(reason: string): never {
    const near = this.doc.slice(this.at, this.at + 20);
    throw new ContentError(`link-format: ${reason} at offset ${this.at}${near === '' ? '' : ` ("${near}")`}`);
  }
}

const SPACE = /[ \t\r\n]/;
const PARAM_CHAR = /[!#$%&'*+\-.0-9A-Z^_`a-z|~]/;
/** Anything but separators, quotes and whitespace: devices put more than ptokens in unquoted values. */
const VALUE_CHAR = /[^;,"\s]/;
