/**
 * What nodes send each other on routes: the sending node's name, then the message (message-codec.ts).
 *
 *   forwarded:  u8 sender length, sender (UTF-8), message
 *   shared:     u8 sender length, sender, u16 group length, group, u16 filter length, filter, message
 *
 * The message is encoded once per publish with room for the sender in front; a shared-group copy reuses
 * those bytes behind its longer header.
 */
import type { Message } from '../broker/message.js';
import { decodeMessage, encodeMessage, getShort, putShort } from './message-codec.js';

/** The u8-length-prefixed sender name every envelope starts with. */
export function senderHeader(node: string): Buffer {
  const name = Buffer.from(node, 'utf8');
  if (name.length > 255) throw new Error(`cluster: node name ${node} is longer than 255 bytes`);
  return Buffer.concat([Buffer.from([name.length]), name]);
}

/** A forwarded message's envelope (`header` from senderHeader). */
export function encodeForwarded(header: Buffer, msg: Message): Buffer {
  const out = encodeMessage(msg, header.length);
  header.copy(out, 0);
  return out;
}

/** A shared-group copy, made from a forwarded envelope with the same header. */
export function encodeShared(header: Buffer, forwarded: Buffer, group: string, filter: string): Buffer {
  const h = header.length;
  const glen = Buffer.byteLength(group, 'utf8');
  const flen = Buffer.byteLength(filter, 'utf8');
  if (glen > 0xffff || flen > 0xffff) throw new RangeError('shared group or filter longer than 65535 bytes');
  const out = Buffer.allocUnsafe(2 + glen + 2 + flen + forwarded.length);
  header.copy(out, 0);
  let at = putShort(out, h, group, glen);
  at = putShort(out, at, filter, flen);
  forwarded.copy(out, at, h);
  return out;
}

export interface Forwarded {
  from: string;
  msg: Message;
}

export interface SharedCopy extends Forwarded {
  group: string;
  filter: string;
}

/** The sender and message of a forwarded envelope, or an Error saying what is wrong with the bytes. */
export function decodeForwarded(data: Uint8Array): Forwarded | Error {
  const buf = asBuffer(data);
  const r = { at: 0 };
  const from = senderOf(buf, r);
  if (from === undefined) return new Error('forwarded message cut short');
  const msg = decodeMessage(buf, 'forwarded message', r.at);
  return msg instanceof Error ? msg : { from, msg };
}

/** The sender, group, filter and message of a shared-group envelope, or an Error. */
export function decodeShared(data: Uint8Array): SharedCopy | Error {
  const buf = asBuffer(data);
  const r = { at: 0 };
  const from = senderOf(buf, r);
  const group = from === undefined ? undefined : getShort(buf, r);
  const filter = group === undefined ? undefined : getShort(buf, r);
  if (filter === undefined) return new Error('shared message cut short');
  const msg = decodeMessage(buf, 'shared message', r.at);
  return msg instanceof Error ? msg : { from: from!, group: group!, filter, msg };
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function senderOf(buf: Buffer, r: { at: number }): string | undefined {
  const len = buf[0];
  if (len === undefined || buf.length < 1 + len) return undefined;
  r.at = 1 + len;
  return buf.toString('utf8', 1, 1 + len);
}
