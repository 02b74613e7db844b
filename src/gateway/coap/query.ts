/**
 * What the EMQX CoAP resources read from a request: query parameters under their long or short names
 * (clientid/c, username/u, password/p, token/t, qos/q, retain/r), the topic from the Uri-Path, and the
 * QoS rules of `publish_qos` / `subscribe_qos`.
 */
import type { QoS } from '../../broker/types.js';
import type { CoapMessage } from './message.js';

const SHORT: Record<string, string> = {
  c: 'clientid',
  u: 'username',
  p: 'password',
  t: 'token',
  q: 'qos',
  r: 'retain',
};

/** Query parameters by their long names (a long name wins over its short form). */
export function requestParams(query: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of query) {
    const long = SHORT[k];
    if (long === undefined) out.set(k, v);
    else if (!query.has(long)) out.set(long, v);
  }
  return out;
}

/** A topic from the Uri-Path segments after the resource name: percent-decoded, joined by '/', empty kept. */
export function topicOf(segments: readonly string[]): string {
  return segments.map(decodeSegment).join('/');
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** 'qos0'…'qos2' fixed, or 'coap': 0 for a NON request, 1 for a CON one. */
export type QosRule = string;

/** The QoS of a request: its `qos` parameter when valid, else the configured rule. */
export function requestQos(param: string | undefined, rule: QosRule, req: CoapMessage): QoS | undefined {
  if (param !== undefined) {
    if (param === '0' || param === '1' || param === '2') return Number(param) as QoS;
    return undefined;
  }
  switch (rule) {
    case 'qos0':
      return 0;
    case 'qos1':
      return 1;
    case 'qos2':
      return 2;
    default:
      return req.type === 'CON' ? 1 : 0;
  }
}

/** A boolean parameter: "true"/"1" are true, absent or anything else false. */
export function flag(v: string | undefined): boolean {
  return v === 'true' || v === '1';
}

/** Form fields of an application/x-www-form-urlencoded body ("qos=0&retain=0&message=…&topic=…"). */
export function formFields(body: Buffer): Map<string, string> {
  return new Map(new URLSearchParams(body.toString('utf8')));
}
