/**
 * The JSON commands MQTT applications send to a device (EMQX 5.8's `msgType`s) and the CoAP request each
 * becomes: `read`, `discover`, `write` (single or batch), `write-attr`, `execute`, `create`, `delete`,
 * `observe`, `cancel-observe`. Pure: no channel state, so every rule is testable on its own.
 */
import { Opt, uintValue } from '../coap/message.js';
import { type ContentCodec, ContentError, ContentFormat, type TypedWrite } from './content/api.js';
import type { Json } from './json.js';

export const MSG_TYPES = [
  'read',
  'discover',
  'write',
  'write-attr',
  'execute',
  'create',
  'delete',
  'observe',
  'cancel-observe',
] as const;

export type MsgType = (typeof MSG_TYPES)[number];

/** A command as the application sent it: the whole object (its extra fields are echoed) and its parts. */
export interface Command {
  readonly raw: { readonly [key: string]: Json };
  readonly msgType: MsgType;
  readonly data: { readonly [key: string]: Json };
  /** `data.path`, else `data.basePath`, without a query: the `reqPath` of the answer. */
  readonly reqPath: string;
}

/** A command that cannot be carried out: what the error answer says. */
export interface CommandError {
  readonly error: string;
  /** The parts that could be read, echoed in the answer. */
  readonly raw?: { readonly [key: string]: Json };
  readonly msgType?: string;
  readonly reqPath?: string;
}

/** A CoAP request before the message layer gives it an id and a token. */
export interface OutRequest {
  code: '0.01' | '0.02' | '0.03' | '0.04';
  /** Uri-Path segments (the device's alternate path included). */
  path: string[];
  options: Array<{ number: number; value: Buffer }>;
  payload: Buffer;
  /** 0 registers an observation, 1 cancels one. */
  observe?: 0 | 1;
}

const isObject = (v: Json | undefined): v is { [key: string]: Json } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a parsed command object. */
export function readCommand(raw: { [key: string]: Json }): Command | CommandError {
  const msgType = raw.msgType;
  if (typeof msgType !== 'string') return { error: 'missing msgType', raw };
  if (!(MSG_TYPES as readonly string[]).includes(msgType))
    return { error: `unknown msgType ${msgType}`, raw, msgType };
  const data = raw.data;
  if (!isObject(data)) return { error: 'missing data object', raw, msgType };
  const p = data.path ?? data.basePath;
  if (typeof p !== 'string') return { error: 'missing path', raw, msgType };
  return { raw, msgType: msgType as MsgType, data, reqPath: dropQuery(p) };
}

const dropQuery = (p: string): string => {
  const q = p.indexOf('?');
  return q < 0 ? p : p.slice(0, q);
};

/** `/3/0/1?x=1` ⇒ segments and Uri-Query strings; undefined unless 1–4 numeric LwM2M ids (0–65535). */
export function splitPath(p: string): { ids: string[]; query: string[] } | undefined {
  const q = p.indexOf('?');
  const path = q < 0 ? p : p.slice(0, q);
  const query =
    q < 0
      ? []
      : p
          .slice(q + 1)
          .split('&')
          .filter((s) => s !== '');
  const ids = path.split('/').filter((s) => s !== '');
  if (ids.length < 1 || ids.length > 4) return undefined;
  for (const id of ids) if (!/^\d{1,5}$/.test(id) || Number(id) > 65535) return undefined;
  return { ids, query };
}

const ATTRS = ['pmin', 'pmax', 'gt', 'lt', 'st'] as const;

/** What building a request needs from the device and the data layer. */
export interface RequestContext {
  codec: ContentCodec;
  /** The device's alternate path ('/' when none). */
  alternatePath: string;
  lwm2mVersion: string;
}

/** The CoAP request of a command, or why there is none (bad path, values that do not encode). */
export function toRequest(cmd: Command, rc: RequestContext): OutRequest | CommandError {
  const fail = (error: string): CommandError => ({
    error,
    raw: cmd.raw,
    msgType: cmd.msgType,
    reqPath: cmd.reqPath,
  });
  const d = cmd.data;
  const target = typeof d.path === 'string' ? d.path : typeof d.basePath === 'string' ? d.basePath : '';
  const split = splitPath(target);
  if (split === undefined) return fail(`invalid path ${JSON.stringify(target)}`);
  const prefix = rc.alternatePath.split('/').filter((s) => s !== '');
  const path = [...prefix, ...split.ids];
  const query = split.query.map((q) => ({ number: Opt.UriQuery, value: Buffer.from(q) }));
  const req = (
    code: OutRequest['code'],
    extra: OutRequest['options'] = [],
    payload: Buffer = EMPTY,
  ): OutRequest => ({
    code,
    path,
    options: [...query, ...extra],
    payload,
  });
  const encoded = (code: OutRequest['code'], basePath: string, writes: TypedWrite[]): OutRequest => {
    const e = rc.codec.encode(basePath, writes, rc.lwm2mVersion);
    return req(code, [{ number: Opt.ContentFormat, value: uintValue(e.contentFormat) }], e.payload);
  };
  try {
    switch (cmd.msgType) {
      case 'read':
        return req('0.01');
      case 'discover':
        return req('0.01', [{ number: Opt.Accept, value: uintValue(ContentFormat.LINK_FORMAT) }]);
      case 'observe':
      case 'cancel-observe':
        return { ...req('0.01'), observe: cmd.msgType === 'observe' ? 0 : 1 };
      case 'delete':
        return req('0.04');
      case 'execute': {
        const args = d.args;
        const text = typeof args === 'string' && args !== 'undefined' ? args : '';
        return req(
          '0.02',
          [{ number: Opt.ContentFormat, value: uintValue(ContentFormat.TEXT) }],
          Buffer.from(text, 'utf8'),
        );
      }
      case 'write-attr': {
        const attrs: OutRequest['options'] = [];
        for (const a of ATTRS) {
          const v = d[a];
          if (v === undefined || v === null) continue;
          if (typeof v !== 'string' && typeof v !== 'number') return fail(`invalid ${a}`);
          attrs.push({ number: Opt.UriQuery, value: Buffer.from(`${a}=${v}`) });
        }
        return req('0.03', attrs);
      }
      case 'write': {
        if (d.basePath === undefined || d.basePath === '/') {
          const w = typedWrite(d);
          if (typeof w === 'string') return fail(w);
          return encoded('0.03', cmd.reqPath, [w]);
        }
        const writes = typedWrites(d.content);
        if (typeof writes === 'string') return fail(writes);
        // A batch on an object instance is a partial update (POST); on a resource it replaces (PUT).
        if (split.ids.length < 2) return fail('a batch write needs an object instance or resource path');
        return encoded(split.ids.length === 2 ? '0.02' : '0.03', cmd.reqPath, writes);
      }
      case 'create': {
        const writes = typedWrites(d.content ?? []);
        if (typeof writes === 'string') return fail(writes);
        return encoded('0.02', cmd.reqPath, writes);
      }
    }
  } catch (err) {
    if (err instanceof ContentError) return fail(err.message);
    throw err;
  }
}

const EMPTY = Buffer.alloc(0);

function typedWrite(v: Json | undefined): TypedWrite | string {
  if (!isObject(v)) return 'a write entry must be an object';
  const { path, type, value } = v;
  if (typeof path !== 'string') return 'a write entry needs a path';
  if (typeof type !== 'string') return 'a write entry needs a type';
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
    return 'a write entry needs a value';
  return { path, type, value };
}

function typedWrites(content: Json | undefined): TypedWrite[] | string {
  if (!Array.isArray(content)) return 'content must be an array';
  const out: TypedWrite[] = [];
  for (const c of content) {
    const w = typedWrite(c);
    if (typeof w === 'string') return w;
    out.push(w);
  }
  return out;
}
