/**
 * What the gateway publishes about a command, in EMQX 5.8's shapes: the application's object echoed
 * (`reqID`, `cacheID`, any extra field) with `msgType` and a `data` of `reqPath`, `code`, `codeMsg` and,
 * for reads, notifications and discovers, `content`. Message-layer outcomes (`ack`, `coap_timeout`,
 * `coap_reset`) echo the command with only `msgType` changed.
 */
import type { CoapMessage } from '../coap/message.js';
import { Opt, option, readUint } from '../coap/message.js';
import type { Command, CommandError } from './commands.js';
import { type ContentCodec, ContentError, splitLinkFormat } from './content/index.js';
import type { Json } from './json.js';

/** CoAP response codes by EMQX's names (`codeMsg`). */
const CODE_NAMES: Readonly<Record<string, string>> = {
  '2.01': 'created',
  '2.02': 'deleted',
  '2.03': 'valid',
  '2.04': 'changed',
  '2.05': 'content',
  '2.31': 'continue',
  '4.00': 'bad_request',
  '4.01': 'unauthorized',
  '4.02': 'bad_option',
  '4.03': 'forbidden',
  '4.04': 'not_found',
  '4.05': 'method_not_allowed',
  '4.06': 'not_acceptable',
  '4.08': 'request_entity_incomplete',
  '4.12': 'precondition_failed',
  '4.13': 'request_entity_too_large',
  '4.15': 'unsupported_content_format',
  '5.00': 'internal_server_error',
  '5.01': 'not_implemented',
  '5.02': 'bad_gateway',
  '5.03': 'service_unavailable',
  '5.04': 'gateway_timeout',
  '5.05': 'proxying_not_supported',
};

/** EMQX's name of a response code; an unlisted code names itself. */
export function codeName(code: string): string {
  return CODE_NAMES[code] ?? code;
}

/** The outcome of a command as the response and `lookup` show it. */
export interface Outcome {
  code: string;
  codeMsg: string;
  content?: Json[];
}

type Obj = { [key: string]: Json | undefined };

/** The published answer to a command. */
export function answerJson(cmd: Command, o: Outcome, msgType: string = cmd.msgType, seqNum?: number): Obj {
  return {
    ...cmd.raw,
    msgType,
    seqNum,
    data: { reqPath: cmd.reqPath, code: o.code, codeMsg: o.codeMsg, content: o.content },
  };
}

/** The echo of a command with another `msgType` (`ack`, `coap_timeout`, `coap_reset`). */
export function outcomeJson(cmd: Command, msgType: 'ack' | 'coap_timeout' | 'coap_reset'): Obj {
  return { ...cmd.raw, msgType };
}

/** The answer to a command that was refused before reaching the device (4.00 with the reason). */
export function refusalJson(e: CommandError): Obj {
  return {
    ...e.raw,
    msgType: e.msgType,
    data: { reqPath: e.reqPath, code: '4.00', codeMsg: 'bad_request', reason: e.error },
  };
}

/** A device's response (piggy-backed, separate or a notification) decoded for its command. */
export function outcomeOf(cmd: Command, res: CoapMessage, codec: ContentCodec): Outcome {
  const code = res.code;
  if (!code.startsWith('2.')) return { code, codeMsg: codeName(code) };
  switch (cmd.msgType) {
    case 'read':
    case 'observe':
    case 'cancel-observe': {
      if (code !== '2.05') return { code, codeMsg: codeName(code) };
      const cf = option(res, Opt.ContentFormat);
      try {
        const values = codec.decode(cmd.reqPath, cf === undefined ? undefined : readUint(cf), res.payload);
        return {
          code,
          codeMsg: codeName(code),
          content: values.map((v) => ({ path: v.path, value: v.value })),
        };
      } catch (err) {
        if (!(err instanceof ContentError)) throw err;
        // EMQX answers a payload it cannot decode (or an object without definition) with 4.00.
        return { code: '4.00', codeMsg: 'bad_request', content: undefined };
      }
    }
    case 'discover': {
      if (code !== '2.05') return { code, codeMsg: codeName(code) };
      // The links as the device wrote them (a comma inside a quoted value does not split).
      try {
        return { code, codeMsg: codeName(code), content: splitLinkFormat(res.payload.toString('utf8')) };
      } catch (err) {
        if (!(err instanceof ContentError)) throw err;
        return { code: '4.00', codeMsg: 'bad_request' };
      }
    }
    default:
      return { code, codeMsg: codeName(code) };
  }
}
