/**
 * STOMP 1.0/1.1/1.2 frame codec. Parsing is incremental: a frame may be split at any byte and a segment
 * may hold several frames; EOLs between frames are heart-beats. Limits (max_headers, max_headers_length
 * on name+value bytes, max_body_length) are checked as bytes arrive, so a flood never grows the buffer
 * past them. Errors are values with a stable reason (too_many_headers, too_long_header, too_long_body,
 * bad_frame), never throws.
 */
import { isUtf8 } from 'node:buffer';
import type { FrameCodec, FrameError, ParseOutput } from '../types.js';

/** A STOMP frame. Headers keep their order; the parser keeps only the first of repeated names. */
export interface StompFrame {
  command: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** The frame limits of gateway.stomp.frame. */
export interface FrameLimits {
  maxHeaders: number;
  /** Bytes of name + value of one header (unescaped). */
  maxHeadersLength: number;
  maxBodyLength: number;
}

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const EMPTY = Buffer.alloc(0);
/** The longest command is UNSUBSCRIBE; anything much longer is not STOMP. */
const MAX_COMMAND_LINE = 64;

/** The first value of a header, or undefined. */
export function header(frame: StompFrame, name: string): string | undefined {
  for (const [k, v] of frame.headers) if (k === name) return v;
  return undefined;
}

/** Builds a frame from a header object (order kept, undefined values skipped). */
export function frame(
  command: string,
  headers: Record<string, string | undefined> = {},
  body: Buffer = EMPTY,
): StompFrame {
  const h: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) h.push([k, v]);
  return { command, headers: h, body };
}

/** Frames whose headers are never escaped, to stay readable by STOMP 1.0 peers (STOMP 1.2 §"Value Encoding"). */
function rawHeaders(command: string): boolean {
  return command === 'CONNECT' || command === 'STOMP' || command === 'CONNECTED';
}

class ParseFailure {
  constructor(readonly error: FrameError) {}
}

function fail(reason: string, detail?: string): ParseFailure {
  return new ParseFailure({ reason, message: `Frame error: ${reason}${detail ? ` (${detail})` : ''}` });
}

/** Decodes the escapes `\r \n \c \\`; any other escape is a frame error. */
function unescapeHeader(text: string): string | ParseFailure {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = text[++i];
    if (n === 'r') out += '\r';
    else if (n === 'n') out += '\n';
    else if (n === 'c') out += ':';
    else if (n === '\\') out += '\\';
    else return fail('bad_frame', `undefined escape \\${n ?? ''}`);
  }
  return out;
}

function escapeHeader(text: string): string {
  if (!/[\\\r\n:]/.test(text)) return text;
  return text.replace(/[\\\r\n:]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\r' ? '\\r' : c === '\n' ? '\\n' : '\\c',
  );
}

/** Serializes a frame: headers escaped (except CONNECT/CONNECTED), content-length added for a body, NUL. */
export function serialize(f: StompFrame): Buffer {
  const raw = rawHeaders(f.command);
  let head = `${f.command}\n`;
  let hasLength = false;
  for (const [k, v] of f.headers) {
    if (k === 'content-length') hasLength = true;
    head += raw ? `${k}:${v}\n` : `${escapeHeader(k)}:${escapeHeader(v)}\n`;
  }
  if (!hasLength && f.body.length > 0) head += `content-length:${f.body.length}\n`;
  head += '\n';
  const h = Buffer.from(head, 'utf8');
  const out = Buffer.allocUnsafe(h.length + f.body.length + 1);
  h.copy(out, 0);
  f.body.copy(out, h.length);
  out[out.length - 1] = NUL;
  return out;
}

type Phase = 'command' | 'headers' | 'body';

/** One connection's incremental parser. */
export class StompCodec implements FrameCodec<StompFrame> {
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Where the search for the current delimiter resumes (bytes before it were already scanned). */
  private scan = 0;
  private phase: Phase = 'command';
  private command = '';
  private headers: Array<[string, string]> = [];
  private headerLines = 0;
  private contentLength = -1;

  constructor(private readonly limits: FrameLimits) {}

  serialize(f: StompFrame): Buffer {
    return serialize(f);
  }

  feed(chunk: Buffer): ParseOutput<StompFrame> {
    if (this.pos < this.buf.length) {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
      this.scan -= this.pos;
    } else {
      this.buf = chunk;
      this.scan = 0;
    }
    this.pos = 0;
    const frames: StompFrame[] = [];
    for (;;) {
      const r = this.step();
      if (r === undefined) break;
      if (r instanceof ParseFailure) {
        this.buf = EMPTY;
        this.pos = 0;
        return { frames, error: r.error };
      }
      frames.push(r);
    }
    if (this.pos >= this.buf.length) {
      this.buf = EMPTY;
      this.pos = 0;
      this.scan = 0;
    }
    return { frames };
  }

  /** Advances as far as the buffer allows: a frame, a failure, or undefined (need more bytes). */
  private step(): StompFrame | ParseFailure | undefined {
    for (;;) {
      if (this.phase === 'command') {
        const r = this.readCommand();
        if (r !== true) return r;
      } else if (this.phase === 'headers') {
        const r = this.readHeader();
        if (r !== true) return r;
      } else {
        return this.readBody();
      }
    }
  }

  /** Skips heart-beat EOLs and reads the command line. */
  private readCommand(): true | ParseFailure | undefined {
    const buf = this.buf;
    while (this.pos < buf.length) {
      const b = buf[this.pos]!;
      if (b === LF) this.pos++;
      else if (b === CR) {
        if (this.pos + 1 >= buf.length) return undefined;
        if (buf[this.pos + 1] !== LF) return fail('bad_frame', 'CR not followed by LF');
        this.pos += 2;
      } else break;
    }
    if (this.pos >= buf.length) return undefined;
    const nl = buf.indexOf(LF, Math.max(this.pos, this.scan));
    if (nl < 0) {
      if (buf.length - this.pos > MAX_COMMAND_LINE) return fail('bad_frame', 'command line too long');
      this.scan = buf.length;
      return undefined;
    }
    // Bytes, as while the line is still incomplete: the verdict must not depend on where chunks split.
    if (nl - this.pos > MAX_COMMAND_LINE) return fail('bad_frame', 'command line too long');
    const line = this.line(this.pos, nl);
    if (line instanceof ParseFailure) return line;
    this.command = line;
    this.pos = nl + 1;
    this.scan = this.pos;
    this.phase = 'headers';
    return true;
  }

  /** Reads one header line, or the blank line that ends the headers. */
  private readHeader(): true | ParseFailure | undefined {
    const buf = this.buf;
    const { maxHeaders, maxHeadersLength } = this.limits;
    const nl = buf.indexOf(LF, Math.max(this.pos, this.scan));
    // Escapes take two bytes for one, so a raw line this long can only be too long once decoded. The same
    // bound applies to a complete line, so the verdict does not depend on where chunks split.
    const rawLimit = 2 * maxHeadersLength + 3;
    if (nl < 0) {
      if (buf.length - this.pos > rawLimit) return fail('too_long_header');
      this.scan = buf.length;
      return undefined;
    }
    if (nl - this.pos > rawLimit) return fail('too_long_header');
    const text = this.line(this.pos, nl);
    if (text instanceof ParseFailure) return text;
    this.pos = nl + 1;
    this.scan = this.pos;
    if (text.length === 0) {
      this.phase = 'body';
      return true;
    }
    if (++this.headerLines > maxHeaders) return fail('too_many_headers');
    const colon = text.indexOf(':');
    if (colon <= 0) return fail('bad_frame', `bad header line "${text.slice(0, 40)}"`);
    const raw = rawHeaders(this.command);
    const name = raw ? text.slice(0, colon) : unescapeHeader(text.slice(0, colon));
    if (name instanceof ParseFailure) return name;
    // A single space after the colon is tolerated and dropped (clients that write "name: value").
    const rawValue = text.charCodeAt(colon + 1) === 0x20 ? text.slice(colon + 2) : text.slice(colon + 1);
    const value = raw ? rawValue : unescapeHeader(rawValue);
    if (value instanceof ParseFailure) return value;
    if (Buffer.byteLength(name) + Buffer.byteLength(value) > maxHeadersLength) return fail('too_long_header');
    if (this.headers.some(([k]) => k === name)) return true;
    this.headers.push([name, value]);
    if (name === 'content-length') {
      if (!/^\d+$/.test(value.trim())) return fail('bad_frame', 'bad content-length');
      this.contentLength = Number(value.trim());
      if (this.contentLength > this.limits.maxBodyLength) return fail('too_long_body');
    }
    return true;
  }

  /** Reads the body (content-length bytes then NUL, or up to the first NUL). */
  private readBody(): StompFrame | ParseFailure | undefined {
    const buf = this.buf;
    const max = this.limits.maxBodyLength;
    let end: number;
    if (this.contentLength >= 0) {
      end = this.pos + this.contentLength;
      if (buf.length <= end) return undefined;
      if (buf[end] !== NUL) return fail('bad_frame', 'body not terminated by NUL after content-length bytes');
    } else {
      end = buf.indexOf(NUL, Math.max(this.pos, this.scan));
      if (end < 0) {
        if (buf.length - this.pos > max) return fail('too_long_body');
        this.scan = buf.length;
        return undefined;
      }
      if (end - this.pos > max) return fail('too_long_body');
    }
    const body = end > this.pos ? Buffer.from(buf.subarray(this.pos, end)) : EMPTY;
    const f: StompFrame = { command: this.command, headers: this.headers, body };
    this.pos = end + 1;
    this.scan = this.pos;
    this.phase = 'command';
    this.command = '';
    this.headers = [];
    this.headerLines = 0;
    this.contentLength = -1;
    return f;
  }

  /**
   * A line without its EOL (LF or CRLF); a CR anywhere else is a frame error, and so are bytes that are not
   * UTF-8 (STOMP 1.2 frames are UTF-8; decoding them to U+FFFD would change the header the client sent).
   */
  private line(start: number, nl: number): string | ParseFailure {
    let end = nl;
    if (end > start && this.buf[end - 1] === CR) end--;
    if (!isUtf8(this.buf.subarray(start, end))) return fail('bad_frame', 'header not UTF-8');
    const text = this.buf.toString('utf8', start, end);
    if (text.includes('\r')) return fail('bad_frame', 'CR not followed by LF');
    return text;
  }
}
