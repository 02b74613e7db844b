/**
 * The valued hooks' fold over the servers, in list order (EMQX semantics):
 * - IGNORE: the answer is dropped; next server.
 * - CONTINUE: the value becomes the accumulator; next server.
 * - STOP_AND_RETURN: the value becomes the accumulator and the whole hook chain stops.
 * - an answer without the value kind the hook needs is logged and counts as IGNORE;
 * - a failed call (error, timeout) skips the server under failed_action=ignore and stops the chain with a
 *   deny under failed_action=deny.
 * The result says whether any server answered: when none did, the broker's accumulator stays as it was.
 */
import type { Message } from '../broker/message.js';
import { topicNameError } from '../broker/topic.js';
import type { QoS } from '../broker/types.js';
import { logger } from '../log.js';
import type { CallResult } from './connection.js';
import type { ExHookServer } from './server.js';
import type { ExhookPoint, PbMessage, PbRequest, PbValuedResponse } from './wire.js';

/** How a valued fold ended. */
export type FoldOutcome<T> = { kind: 'ignore' } | { kind: 'ok'; value: T } | { kind: 'stop'; value: T };

let lastWarn = 0;

function warnUnknownValue(server: ExHookServer, point: ExhookPoint, resp: PbValuedResponse): void {
  const now = Date.now();
  if (now - lastWarn < 10_000) return;
  lastWarn = now;
  logger.warn(
    { exhook: server.name, hook: point, type: resp.type, value: resp.value },
    'exhook: unknown_responsed_value (answer ignored)',
  );
}

/** True when the server answered with a type this fold understands. */
function isKnownType(t: unknown): t is PbValuedResponse['type'] {
  return t === 'CONTINUE' || t === 'IGNORE' || t === 'STOP_AND_RETURN';
}

/**
 * Folds a boolean (client.authenticate, client.authorize) over `servers`. `request(acc)` builds the
 * request for the current accumulator; a failed call under failed_action=deny ends with `stop false`.
 */
export async function foldBool(
  servers: readonly ExHookServer[],
  point: ExhookPoint,
  key: string,
  initial: boolean,
  request: (acc: boolean) => PbRequest,
): Promise<FoldOutcome<boolean>> {
  let acc = initial;
  let answered = false;
  for (const s of servers) {
    // A server removed (or reloaded without the hook) while the fold waited is not asked.
    if (!s.wants(point)) continue;
    const r = await s.call(point, key, request(acc));
    if (!r.ok) {
      if (s.failedAction === 'deny') return { kind: 'stop', value: false };
      continue;
    }
    const resp = r.response as PbValuedResponse;
    if (!isKnownType(resp.type)) {
      warnUnknownValue(s, point, resp);
      continue;
    }
    if (resp.type === 'IGNORE') continue;
    if (resp.value !== 'bool_result' || typeof resp.bool_result !== 'boolean') {
      warnUnknownValue(s, point, resp);
      continue;
    }
    acc = resp.bool_result;
    if (resp.type === 'STOP_AND_RETURN') return { kind: 'stop', value: acc };
    answered = true;
  }
  return answered ? { kind: 'ok', value: acc } : { kind: 'ignore' };
}

/**
 * Folds message.publish over `servers`. Each server sees the message as the servers before it left it.
 * Only topic, payload, qos and headers.allow_publish are taken from an answer; the broker's message is
 * never mutated (a changed message is a copy). A failed call under failed_action=deny stops the chain with
 * the message as it stands. `pipelined`: the calls need not wait for the client's earlier calls' answers.
 */
export async function foldMessage(
  servers: readonly ExHookServer[],
  msg: Message,
  pb: PbMessage,
  extra: PbRequest,
  pipelined = false,
): Promise<FoldOutcome<Message>> {
  let current = msg;
  let answered = false;
  for (const s of servers) {
    // A rewrite may move the message out of this server's filters; a server may be removed meanwhile.
    if (!s.wants('message.publish', current.topic)) continue;
    const r = await s.call('message.publish', current.from, { ...extra, message: pb }, pipelined);
    const step = publishAnswer(s, current, r);
    if (step === undefined) continue;
    if (step.kind === 'stop') return step;
    current = step.value;
    pb = {
      ...pb,
      topic: current.topic,
      payload: current.payload,
      qos: current.qos,
      headers: withAllowPublish(pb.headers, current.headers.allow_publish),
    };
    answered = true;
  }
  return answered ? { kind: 'ok', value: current } : { kind: 'ignore' };
}

/**
 * message.publish with one server: the fold of foldMessage without its async function (one promise less
 * per publish on the path that matters most: bench/exhook.ts, one server).
 */
export function foldMessageOne(
  s: ExHookServer,
  msg: Message,
  request: PbRequest,
  pipelined: boolean,
): Promise<FoldOutcome<Message>> {
  return s.call('message.publish', msg.from, request, pipelined).then((r) => {
    const step = publishAnswer(s, msg, r);
    return step === undefined ? IGNORED : step;
  });
}

const IGNORED: FoldOutcome<never> = { kind: 'ignore' };

/**
 * What one server's answer does to the message: undefined when it leaves it (IGNORE, a failed call under
 * failed_action=ignore, an unusable answer), `stop` with the message as it stands for a failed call under
 * failed_action=deny, otherwise the answered message (`ok` or `stop`).
 */
function publishAnswer(
  s: ExHookServer,
  current: Message,
  r: CallResult,
): { kind: 'ok' | 'stop'; value: Message } | undefined {
  if (!r.ok) return s.failedAction === 'deny' ? { kind: 'stop', value: current } : undefined;
  const resp = r.response as PbValuedResponse;
  if (!isKnownType(resp.type)) {
    warnUnknownValue(s, 'message.publish', resp);
    return undefined;
  }
  if (resp.type === 'IGNORE') return undefined;
  const next = resp.value === 'message' && resp.message ? applyAnswer(current, resp.message) : undefined;
  if (next === undefined) {
    warnUnknownValue(s, 'message.publish', resp);
    return undefined;
  }
  return { kind: resp.type === 'STOP_AND_RETURN' ? 'stop' : 'ok', value: next };
}

function withAllowPublish(
  headers: Record<string, string>,
  allow: boolean | undefined,
): Record<string, string> {
  if (allow === undefined) return headers;
  return { ...headers, allow_publish: String(allow) };
}

/**
 * The message with an answer's topic, payload, qos and allow_publish; the same object when nothing
 * changed; undefined when the answer is unusable (bad topic name or qos). An empty topic keeps the topic.
 */
export function applyAnswer(msg: Message, answer: PbMessage): Message | undefined {
  const topic = answer.topic === '' || answer.topic === undefined ? msg.topic : answer.topic;
  if (topic !== msg.topic && topicNameError(topic) !== undefined) return undefined;
  const qos = answer.qos ?? msg.qos;
  if (qos !== 0 && qos !== 1 && qos !== 2) return undefined;
  const p = answer.payload;
  const payload = p === undefined || p === null ? msg.payload : Buffer.isBuffer(p) ? p : Buffer.from(p);
  const flag = answer.headers?.allow_publish;
  const allow = flag === 'false' ? false : flag === 'true' ? true : undefined;
  const changed = topic !== msg.topic || qos !== msg.qos || !payload.equals(msg.payload);
  const allowChanged = allow !== undefined && allow !== (msg.headers.allow_publish ?? true);
  if (!changed && !allowChanged) return msg;
  const next = changed ? msg.withChanges({ topic, payload, qos: qos as QoS }) : msg.withChanges({});
  if (allow !== undefined) next.headers.allow_publish = allow;
  return next;
}
