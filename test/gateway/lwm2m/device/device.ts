/**
 * A small LwM2M client for the tests, behaving like common devices (Wakaama, Leshan, Anjay): it registers
 * with an object list, answers reads in TLV (1.0) or SenML JSON (1.1), discovers in link-format, applies
 * writes, runs executes, creates and deletes instances, keeps observations and notifies on changes, and in
 * queue mode sleeps (answers nothing) until it wakes with an Update. Own CoAP codec and encodings.
 */
import dgram from 'node:dgram';
import { DtlsClient, type DtlsClientOptions } from '../../../../src/transport/dtls/client.js';
import {
  ACCEPT,
  ACK,
  CON,
  CONTENT_FORMAT,
  code,
  codeText,
  decode,
  encode,
  LOCATION_PATH,
  type Msg,
  NON,
  OBSERVE,
  opt,
  opts,
  RST,
  readUint,
  URI_PATH,
  URI_QUERY,
  uint,
} from './coap.js';
import {
  decodeTlv,
  encodeSenml,
  encodeSenmlCbor,
  encodeTlv,
  type Kind,
  type Resource,
  readTlvValue,
  type TlvEntry,
  type Tree,
  type Value,
} from './values.js';

export interface DeviceOptions {
  /** Gateway UDP port on 127.0.0.1. */
  port: number;
  ep: string;
  lt?: number;
  version?: '1.0' | '1.1';
  /** Binding: `U` (default) or `UQ` (queue mode). */
  binding?: string;
  /** Extra query parameters of the Register (`imei=…`, `password=…`). */
  query?: string[];
  /** An alternate path announced with rt="oma.lwm2m" (e.g. `/lwm2m`). */
  altPath?: string;
  /** Answer requests with an empty ACK and a separate response. */
  separate?: boolean;
  /** Notifications as CON (default) or NON. */
  conNotify?: boolean;
  /** A 1.1 device answers in SenML CBOR (112) instead of SenML JSON (110). */
  cbor?: boolean;
  /** Answers larger than 2^(block+4) bytes go in Block2 blocks of that size. */
  block?: number;
}

const v = (kind: Kind, x: Value['v']): Value => ({ kind, v: x });
const BLOCK2 = 23;
const BLOCK1 = 27;

/** The device's initial objects: Server /1/0 and Device /3/0, as a constrained device reports them. */
export function defaultTree(): Tree {
  return new Map([
    [
      1,
      new Map([
        [
          0,
          new Map<number, Resource>([
            [0, v('Integer', 101)],
            [1, v('Integer', 300)],
            [6, v('Boolean', false)],
            [7, v('String', 'U')],
          ]),
        ],
      ]),
    ],
    [
      3,
      new Map([
        [
          0,
          new Map<number, Resource>([
            [0, v('String', 'Hermod Test Devices')],
            [1, v('String', 'TD-1')],
            [2, v('String', 'SN-0001')],
            [3, v('String', '1.0.2')],
            [9, v('Integer', 100)],
            [11, new Map([[0, v('Integer', 0)]])],
            [13, v('Time', 1_700_000_000)],
            [14, v('String', '+01:00')],
            [16, v('String', 'U')],
          ]),
        ],
      ]),
    ],
  ]);
}

interface Observation {
  token: Buffer;
  ids: number[];
  seq: number;
}

export class Lwm2mDevice {
  readonly tree: Tree = defaultTree();
  /** Requests received from the gateway, in order. */
  readonly requests: Msg[] = [];
  /** Executed resource paths with their arguments: `/3/0/4 args`. */
  readonly executed: string[] = [];
  /** Paths answered with a Reset instead of a response. */
  readonly resetOn = new Set<string>();
  location: string[] = [];
  asleep = false;
  private readonly observations = new Map<string, Observation>();
  private readonly waiting = new Map<number, (m: Msg) => void>();
  private readonly listeners: Array<() => void> = [];
  private mid = Math.floor(Math.random() * 0xffff);
  private readonly sock = dgram.createSocket('udp4');
  /** Set when the device talks through a DTLS session instead of its plain socket. */
  private dtls: DtlsClient | undefined;

  private constructor(readonly o: DeviceOptions) {
    this.sock.on('message', (b) => this.onDatagram(b));
  }

  static async open(o: DeviceOptions): Promise<Lwm2mDevice> {
    const d = new Lwm2mDevice(o);
    await new Promise<void>((r) => d.sock.bind(0, '127.0.0.1', () => r()));
    return d;
  }

  /** A device whose CoAP goes through a DTLS session (the gateway's dtls listener on `o.port`). */
  static async overDtls(o: DeviceOptions, dtls: Partial<DtlsClientOptions>): Promise<Lwm2mDevice> {
    const d = new Lwm2mDevice(o);
    const c = new DtlsClient({ host: '127.0.0.1', port: o.port, ...dtls });
    await c.connect();
    c.onData = (raw) => d.onDatagram(raw);
    d.dtls = c;
    return d;
  }

  close(): void {
    if (this.dtls !== undefined) this.dtls.close();
    else this.sock.close();
  }

  private nextMid(): number {
    this.mid = (this.mid + 1) & 0xffff;
    return this.mid;
  }

  sendRaw(b: Buffer): void {
    if (this.dtls !== undefined) this.dtls.send(b);
    else this.sock.send(b, this.o.port, '127.0.0.1');
  }

  private send(m: Msg): void {
    this.sendRaw(encode(m));
  }

  /** Sends a CON request and waits for its piggy-backed answer. */
  request(
    method: number,
    path: string[],
    query: string[] = [],
    payload = '',
    format?: number,
    timeoutMs = 4000,
    extra: Array<[number, Buffer]> = [],
  ): Promise<Msg> {
    const mid = this.nextMid();
    const options: Array<[number, Buffer]> = [
      ...path.map((s): [number, Buffer] => [URI_PATH, Buffer.from(s)]),
      ...query.map((q): [number, Buffer] => [URI_QUERY, Buffer.from(q)]),
    ];
    if (format !== undefined) options.push([CONTENT_FORMAT, uint(format)]);
    options.push(...extra);
    const m: Msg = {
      type: CON,
      code: method,
      mid,
      token: Buffer.from([mid & 0xff, 7]),
      options,
      payload: Buffer.from(payload),
    };
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(mid);
        reject(new Error(`no answer to ${codeText(method)} /${path.join('/')}`));
      }, timeoutMs);
      this.waiting.set(mid, (r) => {
        clearTimeout(t);
        resolve(r);
      });
      this.send(m);
    });
  }

  /** The link-format object list of a Register/Update. */
  objectLinks(): string {
    const prefix = this.o.altPath ?? '';
    const links: string[] = [];
    if (this.o.altPath !== undefined) links.push(`<${this.o.altPath}>;rt="oma.lwm2m"`);
    for (const [oid, insts] of this.tree)
      for (const iid of insts.keys()) links.push(`<${prefix}/${oid}/${iid}>`);
    return links.join(',');
  }

  /** Register: `POST /rd?ep&lt&lwm2m&b` with the object list; keeps the Location-Path. */
  async register(extraQuery: string[] = [], payload = this.objectLinks()): Promise<Msg> {
    const q = [
      `ep=${this.o.ep}`,
      `lt=${this.o.lt ?? 300}`,
      `lwm2m=${this.o.version ?? '1.0'}`,
      `b=${this.o.binding ?? 'U'}`,
      ...(this.o.query ?? []),
      ...extraQuery,
    ];
    const r = await this.request(code('0.02'), ['rd'], q, payload, 40);
    if (codeText(r.code) === '2.01') this.location = opts(r, LOCATION_PATH);
    return r;
  }

  /** Register with the object list sent in Block1 blocks of 2^(szx+4) bytes; the last answer is returned. */
  async registerInBlocks(szx: number): Promise<Msg> {
    const body = Buffer.from(this.objectLinks());
    const size = 1 << (szx + 4);
    const q = [`ep=${this.o.ep}`, `lt=${this.o.lt ?? 300}`, `lwm2m=${this.o.version ?? '1.0'}`];
    for (let num = 0; ; num++) {
      const part = body.subarray(num * size, (num + 1) * size);
      const more = (num + 1) * size < body.length;
      const block: Array<[number, Buffer]> = [[BLOCK1, uint(num * 16 + (more ? 8 : 0) + szx)]];
      const r = await this.request(code('0.02'), ['rd'], q, part.toString(), 40, 4000, block);
      if (!more || codeText(r.code) !== '2.31') {
        if (codeText(r.code) === '2.01') this.location = opts(r, LOCATION_PATH);
        return r;
      }
    }
  }

  /** Update: `POST /rd/<ep>` with optional query and object list. */
  update(query: string[] = [], payload = ''): Promise<Msg> {
    return this.request(code('0.02'), this.location, query, payload, payload === '' ? undefined : 40);
  }

  deregister(): Promise<Msg> {
    return this.request(code('0.04'), this.location);
  }

  /** Queue mode: stops listening (requests are dropped, as a radio that is off). */
  sleep(): void {
    this.asleep = true;
  }

  /** Wakes and tells the server with an Update, as queue-mode devices do. */
  wake(): Promise<Msg> {
    this.asleep = false;
    return this.update();
  }

  /** Waits for a request from the gateway matching `pred`. */
  async nextRequest(pred: (m: Msg) => boolean = () => true, timeoutMs = 4000, from = 0): Promise<Msg> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.requests.slice(from).find(pred);
      if (hit !== undefined) return hit;
      if (Date.now() > end)
        throw new Error(`no matching request; got ${this.requests.map(describe).join(', ')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.listeners.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Changes a resource; observers of it (or of its instance/object) are notified. */
  set(path: string, x: Value): void {
    const [o, i, r] = path.split('/').filter(Boolean).map(Number) as [number, number, number];
    this.tree.get(o)?.get(i)?.set(r, x);
    for (const ob of this.observations.values()) {
      const covers = ob.ids.every((id, k) => id === [o, i, r][k]);
      if (!covers) continue;
      ob.seq++;
      const body = this.content(ob.ids);
      if (body === undefined) continue;
      this.send({
        type: this.o.conNotify === false ? NON : CON,
        code: code('2.05'),
        mid: this.nextMid(),
        token: ob.token,
        options: [
          [OBSERVE, uint(ob.seq)],
          [CONTENT_FORMAT, uint(body.format)],
        ],
        payload: body.payload,
      });
    }
  }

  // ---------------------------------------------------------------- serving the gateway

  private onDatagram(b: Buffer): void {
    const m = decode(b);
    if (m === undefined) return;
    if (m.type === ACK || m.type === RST) {
      const w = this.waiting.get(m.mid);
      this.waiting.delete(m.mid);
      w?.(m);
      return;
    }
    if (m.code === 0 || m.code >= 64) return;
    if (this.asleep) return;
    this.requests.push(m);
    for (const l of this.listeners.splice(0)) l();
    const ids = this.pathIds(m);
    const key = `/${ids.join('/')}`;
    if (this.resetOn.has(key)) {
      this.send({
        type: RST,
        code: 0,
        mid: m.mid,
        token: Buffer.alloc(0),
        options: [],
        payload: Buffer.alloc(0),
      });
      return;
    }
    const res = this.serve(m, ids);
    this.answer(m, res);
  }

  private answer(req: Msg, res: { code: string; options?: Array<[number, Buffer]>; payload?: Buffer }): void {
    const base = {
      code: code(res.code),
      token: req.token,
      options: res.options ?? [],
      payload: res.payload ?? Buffer.alloc(0),
    };
    if (this.o.separate !== true || req.type !== CON) {
      this.send({
        ...base,
        type: req.type === CON ? ACK : NON,
        mid: req.type === CON ? req.mid : this.nextMid(),
      });
      return;
    }
    this.send({
      type: ACK,
      code: 0,
      mid: req.mid,
      token: Buffer.alloc(0),
      options: [],
      payload: Buffer.alloc(0),
    });
    setTimeout(() => this.send({ ...base, type: CON, mid: this.nextMid() }), 30);
  }

  private pathIds(m: Msg): number[] {
    let segs = opts(m, URI_PATH);
    const alt = (this.o.altPath ?? '').split('/').filter(Boolean);
    if (alt.length > 0 && alt.every((s, k) => segs[k] === s)) segs = segs.slice(alt.length);
    return segs.map(Number);
  }

  private content(ids: number[]): { format: number; payload: Buffer } | undefined {
    if (this.o.version === '1.1') {
      const cbor = this.o.cbor === true;
      const p = (cbor ? encodeSenmlCbor : encodeSenml)(this.tree, ids);
      return p === undefined ? undefined : { format: cbor ? 112 : 110, payload: p };
    }
    const p = encodeTlv(this.tree, ids);
    return p === undefined ? undefined : { format: 11542, payload: p };
  }

  private serve(
    m: Msg,
    ids: number[],
  ): { code: string; options?: Array<[number, Buffer]>; payload?: Buffer } {
    const method = codeText(m.code);
    const [o, i, r] = ids;
    const obj = o === undefined ? undefined : this.tree.get(o);
    const inst = i === undefined ? undefined : obj?.get(i);
    if (method === '0.01') {
      const accept = opt(m, ACCEPT);
      if (accept !== undefined && readUint(accept) === 40) {
        const links = this.discover(ids);
        return links === undefined
          ? { code: '4.04' }
          : { code: '2.05', options: [[CONTENT_FORMAT, uint(40)]], payload: Buffer.from(links) };
      }
      const body = this.content(ids);
      if (body === undefined) return { code: '4.04' };
      const options: Array<[number, Buffer]> = [[CONTENT_FORMAT, uint(body.format)]];
      const ob = opt(m, OBSERVE);
      const key = `/${ids.join('/')}`;
      if (ob !== undefined && readUint(ob) === 0) {
        const seq = this.observations.get(key)?.seq ?? 1;
        this.observations.set(key, { token: Buffer.from(m.token), ids, seq });
        options.push([OBSERVE, uint(seq)]);
      } else if (ob !== undefined) this.observations.delete(key);
      return { code: '2.05', options, payload: this.block2(m, body.payload, options) };
    }
    if (method === '0.03') {
      if (m.payload.length === 0) return opts(m, URI_QUERY).length > 0 ? { code: '2.04' } : { code: '4.00' };
      if (inst === undefined) return { code: '4.04' };
      return this.write(o!, inst, m.payload, r) ? { code: '2.04' } : { code: '4.00' };
    }
    if (method === '0.02') {
      if (ids.length === 3) {
        if (inst === undefined || (!inst.has(r!) && !(o === 3 && r === 4))) return { code: '4.04' };
        this.executed.push(`/${ids.join('/')} ${m.payload.toString()}`.trim());
        return { code: '2.04' };
      }
      if (ids.length === 2) {
        if (inst === undefined) return { code: '4.04' };
        return this.write(o!, inst, m.payload) ? { code: '2.04' } : { code: '4.00' };
      }
      if (ids.length === 1 && obj !== undefined) return this.create(o!, obj, m.payload);
      return { code: '4.04' };
    }
    if (method === '0.04') {
      if (ids.length !== 2 || inst === undefined) return { code: '4.04' };
      obj!.delete(i!);
      return { code: '2.02' };
    }
    return { code: '4.05' };
  }

  /** The block of a body the request asks for (Block2, else the first), when blocks are on and needed. */
  private block2(m: Msg, body: Buffer, options: Array<[number, Buffer]>): Buffer {
    const szx = this.o.block;
    if (szx === undefined) return body;
    const size = 1 << (szx + 4);
    if (body.length <= size) return body;
    const asked = opt(m, BLOCK2);
    const num = asked === undefined ? 0 : readUint(asked) >> 4;
    const more = (num + 1) * size < body.length;
    options.push([BLOCK2, uint(num * 16 + (more ? 8 : 0) + szx)]);
    return body.subarray(num * size, (num + 1) * size);
  }

  private discover(ids: number[]): string | undefined {
    const [o, i] = ids;
    const obj = this.tree.get(o!);
    if (obj === undefined) return undefined;
    if (ids.length === 1) return [`</${o}>`, ...[...obj.keys()].map((k) => `</${o}/${k}>`)].join(',');
    const inst = obj.get(i!);
    if (inst === undefined) return undefined;
    // Executable resources have no value but are listed, as devices do (the Device object's Reboot).
    const rids = [...inst.keys(), ...(o === 3 ? [4] : [])].sort((a, b) => a - b);
    if (ids.length === 2) return [`</${o}/${i}>`, ...rids.map((r) => `</${o}/${i}/${r}>`)].join(',');
    return inst.has(ids[2]!) ? `</${ids.join('/')}>;pmin=10` : undefined;
  }

  /** The kind of a resource: its current value's, else that of instance 0 of the object. */
  private kindOf(o: number, inst: Map<number, Resource>, r: number): Kind {
    const cur = inst.get(r) ?? this.tree.get(o)?.values().next().value?.get(r);
    if (cur === undefined) return 'Opaque';
    return cur instanceof Map ? (cur.values().next().value?.kind ?? 'Opaque') : cur.kind;
  }

  /** Applies resource TLVs to an instance; `only` limits a write to one resource. */
  private write(o: number, inst: Map<number, Resource>, payload: Buffer, only?: number): boolean {
    let entries: TlvEntry[];
    try {
      entries = decodeTlv(payload);
    } catch {
      return false;
    }
    for (const e of entries) {
      if (only !== undefined && e.id !== only) return false;
      const kind = this.kindOf(o, inst, e.id);
      if (e.type === 3) inst.set(e.id, readTlvValue(kind, e.value));
      else if (e.type === 2)
        inst.set(e.id, new Map(e.children.map((c) => [c.id, readTlvValue(kind, c.value)])));
      else return false;
    }
    return true;
  }

  private create(o: number, obj: Map<number, Map<number, Resource>>, payload: Buffer) {
    let entries: TlvEntry[];
    try {
      entries = decodeTlv(payload);
    } catch {
      return { code: '4.00' };
    }
    // Either one object-instance TLV naming the id, or bare resources (the device picks the id).
    const wrapped = entries.length === 1 && entries[0]!.type === 0 ? entries[0]! : undefined;
    let id = wrapped?.id ?? 0;
    if (wrapped === undefined) while (obj.has(id)) id++;
    if (obj.has(id)) return { code: '4.00' };
    const inst = new Map<number, Resource>();
    obj.set(id, inst);
    const ok = this.write(o, inst, wrapped === undefined ? payload : wrapped.value);
    if (!ok) {
      obj.delete(id);
      return { code: '4.00' };
    }
    return {
      code: '2.01',
      options: [
        [LOCATION_PATH, Buffer.from(String(o))],
        [LOCATION_PATH, Buffer.from(String(id))],
      ] as Array<[number, Buffer]>,
    };
  }
}

/** A request as text, for failure messages. */
export function describe(m: Msg): string {
  return `${codeText(m.code)} /${opts(m, URI_PATH).join('/')}${opts(m, URI_QUERY).length ? `?${opts(m, URI_QUERY).join('&')}` : ''}`;
}
