/**
 * Retained messages as JetStream KV keys and values.
 *
 * Key: the topic's kvKey (base64url) while it is short; a long topic would make a subject longer than the
 * server's control line, so it becomes `=` + SHA-256 of the topic (`=` never occurs in base64url, so the
 * two forms cannot collide). The topic itself always travels in the value, which is the message in the
 * cluster's binary form (message-codec.ts).
 */
import { createHash } from 'node:crypto';
import type { Message } from '../broker/message.js';
import { decodeMessage, encodeMessage } from './message-codec.js';
import { kvKey } from './subject.js';

/** Longest base64url key kept readable; beyond it the key is a hash (see above). */
const MAX_PLAIN_KEY = 480;

/** The KV key of a topic's retained message. */
export function retainedKey(topic: string): string {
  const key = kvKey(topic);
  if (key.length <= MAX_PLAIN_KEY) return key;
  return `=${createHash('sha256').update(topic, 'utf8').digest('base64url')}`;
}

/** True for a key made from a hash: its topic cannot be read back from the key. */
export function isHashedKey(key: string): boolean {
  return key.charCodeAt(0) === 0x3d /* = */;
}

/** The value stored for a retained message. */
export function encodeRetained(m: Message): Buffer {
  return encodeMessage(m);
}

/**
 * The retained message a value holds (its retain flag set whatever the bytes say), or an Error saying
 * what is wrong with the value.
 */
export function decodeRetained(value: Uint8Array): Message | Error {
  const m = decodeMessage(value, 'retained value');
  if (m instanceof Error) return m;
  m.flags.retain = true;
  return m;
}
