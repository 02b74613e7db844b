/**
 * The LwM2M registration interface's input (LwM2M 1.0/1.1 §5.3): the query of a Register or Update,
 * the object list of its link-format payload with the alternate path of `rt="oma.lwm2m"`, and what EMQX
 * derives from them (identity, lifetime, queue mode, the `data` of the register/update messages).
 */
import { ContentError, type Link } from './content/api.js';
import type { Json } from './json.js';

/** Parses a CoRE link-format document (the data layer's parser); throws ContentError on garbage. */
export type LinkParser = (text: string) => Link[];

/** The `data` object of register and update messages: the query, `lt` as a number, the object list. */
export type RegInfo = { [key: string]: Json };

/** A registration query that was accepted. */
export interface Registration {
  ep: string;
  /** Seconds, as the device asked (0 = the gateway's lifetime_max). */
  lt: number;
  version: string;
  info: RegInfo;
}

/** APN values EMQX treats as power-saving (queue) mode. */
const PSM_APNS = new Set(['Ctnb', 'psmA.eDRX0.ctnb', 'psmC.eDRX0.ctnb', 'psmF.eDRXC.ctnb']);
/** Bindings with queue mode (LwM2M 1.0 `UQ`, `SQ`, `UQS`). */
const QUEUE_BINDINGS = new Set(['UQ', 'SQ', 'UQS']);
/** Query keys never published (credentials). */
const SENSITIVE = /password|passwd|secret|token|private_key|passphrase|passcode/i;
const VERSION = /^1(\.[01](\.\d+)?)?$/;

/** Checks a Register's query and payload; the error text is the 4.00 answer's payload. */
export function readRegister(
  query: Map<string, string>,
  payload: Buffer,
  parseLinks: LinkParser,
): Registration | string {
  const ep = query.get('ep');
  if (ep === undefined || ep === '') return 'missing ep';
  const ltText = query.get('lt');
  if (ltText === undefined) return 'missing lt';
  const lt = readLifetime(ltText);
  if (lt === undefined) return 'invalid lt';
  const version = query.get('lwm2m') ?? '1.0';
  if (!VERSION.test(version)) return `unsupported lwm2m version ${version}`;
  const info = queryInfo(query);
  info.lt = lt;
  const objects = readObjectList(payload, parseLinks);
  if (typeof objects === 'string') return objects;
  if (objects !== undefined) Object.assign(info, objects);
  return { ep, lt, version, info };
}

/** Checks an Update's query and payload: the fields it changes. */
export function readUpdate(
  query: Map<string, string>,
  payload: Buffer,
  parseLinks: LinkParser,
): RegInfo | string {
  const info = queryInfo(query);
  const ltText = query.get('lt');
  if (ltText !== undefined) {
    const lt = readLifetime(ltText);
    if (lt === undefined) return 'invalid lt';
    info.lt = lt;
  }
  const objects = readObjectList(payload, parseLinks);
  if (typeof objects === 'string') return objects;
  if (objects !== undefined) Object.assign(info, objects);
  return info;
}

function readLifetime(s: string): number | undefined {
  if (!/^\d{1,10}$/.test(s)) return undefined;
  return Number(s);
}

function queryInfo(query: Map<string, string>): RegInfo {
  const info: RegInfo = {};
  for (const [k, v] of query) if (!SENSITIVE.test(k)) info[k] = v;
  return info;
}

/**
 * The object list of a link-format payload: `</1>, </2/0>` ⇒ `["/1", "/2/0"]`; a link with
 * `rt="oma.lwm2m"` names the alternate path, which is left out and stripped from the others. An empty
 * payload has none (undefined).
 */
export function readObjectList(
  payload: Buffer,
  parseLinks: LinkParser,
): { alternatePath: string; objectList: string[] } | string | undefined {
  const text = payload.toString('utf8').trim();
  if (text === '') return undefined;
  let links: Link[];
  try {
    links = parseLinks(text);
  } catch (err) {
    if (err instanceof ContentError) return `invalid link-format: ${err.message}`;
    throw err;
  }
  let alternatePath = '/';
  const targets: string[] = [];
  for (const l of links) {
    if (l.params.get('rt') === 'oma.lwm2m') alternatePath = l.target === '' ? '/' : l.target;
    else targets.push(l.target);
  }
  const prefix = alternatePath === '/' ? '' : alternatePath.replace(/\/+$/, '');
  const objectList: string[] = [];
  for (const t of targets) {
    const rel = prefix !== '' && t.startsWith(`${prefix}/`) ? t.slice(prefix.length) : t;
    if (!/^\/\d{1,5}(\/\d{1,5})?$/.test(rel)) return `invalid object link <${t}>`;
    objectList.push(rel);
  }
  return { alternatePath, objectList };
}

/** Queue mode (binding UQ/SQ/UQS) or a power-saving APN: commands wait for the device to wake. */
export function isQueueMode(info: RegInfo): boolean {
  const b = info.b;
  const apn = info.apn;
  return (typeof b === 'string' && QUEUE_BINDINGS.has(b)) || (typeof apn === 'string' && PSM_APNS.has(apn));
}

/** Objects EMQX never observes automatically (security, server, access control, connectivity, …). */
const NOT_AUTO_OBSERVED = new Set(['0', '1', '2', '4', '5', '6', '7', '9', '15']);

/** The paths `auto_observe` observes after a registration. */
export function autoObservePaths(
  setting: boolean | readonly string[],
  objectList: readonly string[],
): string[] {
  if (setting === false) return [];
  if (setting === true) return objectList.filter((p) => !NOT_AUTO_OBSERVED.has(p.split('/')[1] ?? ''));
  const wanted = new Set(setting.map((s) => s.trim()));
  return objectList.filter((p) => wanted.has(p));
}
