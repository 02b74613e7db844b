/**
 * Deliveries to an MQTT-SN client. A message goes out with the topic's registered or predefined id, or as
 * a short (2-byte) name; for any other topic the gateway first REGISTERs a new id and holds the message
 * (and everything after it) until REGACK. A REGISTER is retried every 5 s, 3 times; then the client is
 * given up. A REGACK with an error skips that topic; a PUBACK "invalid topic id" re-REGISTERs and replays.
 */
import type { ChannelContext, Delivery, Reply } from '../types.js';
import { flags, RC, type SnFrame, TopicIdType } from './frame.js';
import type { MqttSnConfig } from './schema.js';
import type { TopicIdTable } from './topic-ids.js';

type R = Reply<SnFrame>;

/** ms between REGISTER retries, and how many retries before the client is given up (EMQX: 5 s, 3). */
export const REGISTER_RETRY_MS = 5000;
export const REGISTER_MAX_RETRIES = 3;
/** Timer name the channel routes to `retry`. */
export const REGISTER_TIMER = 'register';

interface Item {
  d: Delivery;
  /** REGISTER even if the topic has an id (the client said it does not know it). */
  force: boolean;
}

interface Registration {
  topic: string;
  topicId: number;
  msgId: number;
  retries: number;
}

/** How a topic is named on the wire. */
interface TopicRef {
  type: 0 | 1 | 2;
  id: number;
}

/** A 2-byte topic name as the 16-bit value a short topic id carries; undefined for other names. */
export function shortTopicId(name: string): number | undefined {
  const b = Buffer.from(name);
  return b.length === 2 ? b.readUInt16BE(0) : undefined;
}

export class Outbox {
  private readonly pending: Item[] = [];
  private resumeTopics: string[] = [];
  private reg: Registration | undefined;
  private lastMsgId = 0;

  constructor(
    private readonly ctx: ChannelContext<MqttSnConfig>,
    private readonly topicIds: TopicIdTable,
  ) {}

  /** A REGISTER is waiting for its REGACK (deliveries must wait too). */
  get registering(): boolean {
    return this.reg !== undefined;
  }

  /** Nothing accepted is still unsent. */
  get empty(): boolean {
    return this.reg === undefined && this.pending.length === 0 && this.resumeTopics.length === 0;
  }

  /** Accepts one delivery; returns what to send now (PUBLISH, or REGISTER first). */
  deliver(d: Delivery): R[] {
    this.pending.push({ d, force: false });
    return this.pump();
  }

  /** subs_resume: REGISTERs these topic names (one at a time) before anything else is sent. */
  registerFirst(topics: string[]): R[] {
    this.resumeTopics = topics;
    return this.pump();
  }

  /** The client answered a delivery with PUBACK "invalid topic id": REGISTER the topic again and resend. */
  reregister(msgId: number): R[] {
    const d = this.ctx.unackedDelivery(msgId);
    if (d === undefined) return [];
    this.topicIds.forget(d.topic);
    this.pending.unshift({ d, force: true });
    return this.pump();
  }

  /** A REGACK from the client. */
  regack(topicId: number, msgId: number, rc: number): R[] {
    const reg = this.reg;
    if (reg === undefined || (topicId !== reg.topicId && msgId !== reg.msgId)) return [];
    // Congestion: the retry timer sends it again.
    if (rc === RC.CONGESTION) return [];
    this.reg = undefined;
    const out: R[] = [{ type: 'cancel_timer', name: REGISTER_TIMER }];
    if (rc !== RC.ACCEPTED) {
      this.ctx.log.info(
        { topic: reg.topic, rc },
        'mqttsn: client refused a topic id; its messages are skipped',
      );
      this.topicIds.forget(reg.topic);
      for (let i = this.pending.length - 1; i >= 0; i--) {
        const item = this.pending[i]!;
        if (item.d.topic !== reg.topic) continue;
        this.pending.splice(i, 1);
        this.drop(item.d);
      }
    }
    out.push(...this.pump());
    return out;
  }

  /** The REGISTER timer fired: resend, or undefined when the retries are used up. */
  retry(): R[] | undefined {
    const reg = this.reg;
    if (reg === undefined) return [];
    if (++reg.retries > REGISTER_MAX_RETRIES) return undefined;
    return this.registerFrames(reg);
  }

  /** Frees every held delivery (the connection is going away; the session keeps unacked QoS 1/2). */
  clear(): void {
    this.pending.length = 0;
    this.resumeTopics = [];
    this.reg = undefined;
  }

  private pump(): R[] {
    const out: R[] = [];
    while (this.reg === undefined) {
      const resume = this.resumeTopics.shift();
      if (resume !== undefined) {
        if (this.resolve(resume) !== undefined) continue;
        const id = this.topicIds.register(resume);
        if (typeof id === 'number') this.startRegister(resume, id, out);
        continue;
      }
      const item = this.pending[0];
      if (item === undefined) break;
      const ref = item.force ? undefined : this.resolve(item.d.topic);
      if (ref !== undefined) {
        this.pending.shift();
        out.push({ type: 'send', frame: publishFrame(item.d, ref) });
        continue;
      }
      const topic = item.d.topic;
      const id = item.force
        ? (this.topicIds.predefined.byName.get(topic) ?? this.topicIds.register(topic))
        : this.topicIds.register(topic);
      item.force = false;
      if (typeof id !== 'number') {
        // No id can be given (wildcard cannot happen for a message topic; ids exhausted can).
        this.ctx.log.warn(
          { topic, reason: id },
          'mqttsn: cannot register a topic for delivery; message dropped',
        );
        this.pending.shift();
        this.drop(item.d);
        continue;
      }
      this.startRegister(topic, id, out);
    }
    return out;
  }

  private resolve(topic: string): TopicRef | undefined {
    const pre = this.topicIds.predefined.byName.get(topic);
    if (pre !== undefined) return { type: TopicIdType.PREDEFINED, id: pre };
    const id = this.topicIds.idOf(topic);
    if (id !== undefined) return { type: TopicIdType.NORMAL, id };
    const short = shortTopicId(topic);
    if (short !== undefined) return { type: TopicIdType.SHORT, id: short };
    return undefined;
  }

  private startRegister(topic: string, topicId: number, out: R[]): void {
    this.lastMsgId = this.lastMsgId >= 0xffff ? 1 : this.lastMsgId + 1;
    const reg: Registration = { topic, topicId, msgId: this.lastMsgId, retries: 0 };
    this.reg = reg;
    out.push(...this.registerFrames(reg));
  }

  private registerFrames(reg: Registration): R[] {
    return [
      {
        type: 'send',
        frame: { type: 'REGISTER', topicId: reg.topicId, msgId: reg.msgId, topicName: reg.topic },
      },
      { type: 'timer', name: REGISTER_TIMER, ms: REGISTER_RETRY_MS },
    ];
  }

  // A QoS 1/2 delivery that will never be sent must leave the inflight window (one slot for MQTT-SN).
  private drop(d: Delivery): void {
    this.ctx.metrics.inc('messages.dropped');
    this.ctx.abandoned(d.packetId, d.qos);
  }
}

/** The PUBLISH carrying one delivery. */
export function publishFrame(d: Delivery, ref: TopicRef): SnFrame {
  return {
    type: 'PUBLISH',
    flags: flags({ dup: d.dup, qos: d.qos, retain: d.retain, topicIdType: ref.type }),
    topicId: ref.id,
    msgId: d.qos === 0 ? 0 : d.packetId,
    data: d.msg.payload,
  };
}
