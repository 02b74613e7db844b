/**
 * Management across nodes: the questions one node's management plane answers for the others (node info,
 * stats, metrics, client and subscription lists, one client, kick) and the asking side. The answers are
 * written by the management plane (it knows how the API shows a client); this module only carries them
 * over the bus as rpc methods `mgmt_<question>`. The node's own answers are taken in-process, without a
 * bus hop, so a listing of a one-node cluster costs what it did before.
 *
 * A node that does not answer within `cluster.nats.request_timeout` (or has no management plane yet) is an
 * error entry in the result, never a hang: the API reports it and carries on with the others.
 */
// Types only: the management plane of a single node imports answerLocally from here without loading NATS.
import type { ClusterBus, RpcError } from './bus.js';
import type { Membership } from './membership.js';

export type Row = Record<string, unknown>;

/** A window of a node's list: the API's query (without paging), and which rows of this node's matches. */
export interface SliceRequest {
  query: Row;
  offset: number;
  limit: number;
}

/** How many rows this node matched in all, and the requested window of them. */
export interface Slice {
  count: number;
  rows: Row[];
}

/** A per-client endpoint to run where the client lives: `op` names it, `body` is its request body or query. */
export interface ClientOpRequest {
  clientid: string;
  op: string;
  body?: unknown;
}

/** The endpoint's answer, or its API error (status and EMQX code) to send back as is. */
export type ClientOpResult =
  | { ok: true; value: unknown }
  | { ok: false; status: number; code: string; message: string };

/** What a node's management plane answers about itself (JSON in, JSON out). */
export interface MgmtAnswers {
  /** `/nodes` entry of this node. */
  node(body: undefined): Row;
  stats(body: undefined): Record<string, number>;
  metrics(body: undefined): Record<string, number>;
  /** `/monitor_current/nodes/{node}` of this node: gauges and per-second rates. */
  monitor_current(body: undefined): Record<string, number>;
  clients(body: SliceRequest): Slice;
  subscriptions(body: SliceRequest): Slice;
  /** `/gateways/{name}/clients` of this node; the gateway's name is `query.gateway`. */
  gateway_clients(body: SliceRequest): Slice;
  /** Runs a `/clients/{clientid}/…` endpoint on this node's client; null when this node does not have it. */
  client_op(body: ClientOpRequest): ClientOpResult | null;
  /** `/sessions_count` of this node: sessions connected now or disconnected since `since` (epoch seconds). */
  sessions_count(body: { since: number }): number;
  /** Kicks those of the clients this node has; answers the ones it kicked. */
  kick(body: { clientids: string[] }): string[];
}

export type Question = keyof MgmtAnswers;
export type BodyOf<Q extends Question> = Parameters<MgmtAnswers[Q]>[0];
export type AnswerOf<Q extends Question> = ReturnType<MgmtAnswers[Q]>;

/** One node's answer, or why there is none. */
export type NodeAnswer<T> =
  | { node: string; ok: true; value: T }
  | { node: string; ok: false; code: 'no_node' | 'timeout' | 'remote'; error: string };

/** The management plane's view of the cluster (a single node is a cluster of one). */
export interface MgmtPeers {
  readonly self: string;
  /** `cluster.name`. */
  readonly clusterName: string;
  /** Live nodes, this one included, sorted. */
  running(): string[];
  /** Nodes known to have gone down without leaving (crash, partition, stalled process), sorted. */
  stopped(): string[];
  ask<Q extends Question>(node: string, question: Q, body: BodyOf<Q>): Promise<NodeAnswer<AnswerOf<Q>>>;
  /** Asks every listed node (default: the running ones) at once; answers in the order of `nodes`. */
  askAll<Q extends Question>(
    question: Q,
    body: BodyOf<Q>,
    nodes?: string[],
  ): Promise<NodeAnswer<AnswerOf<Q>>[]>;
}

const QUESTIONS: readonly Question[] = [
  'node',
  'stats',
  'metrics',
  'monitor_current',
  'clients',
  'subscriptions',
  'gateway_clients',
  'client_op',
  'sessions_count',
  'kick',
];

/** Answers a question of this node in-process, failures turned into an error entry. */
export async function answerLocally<Q extends Question>(
  answers: MgmtAnswers,
  node: string,
  question: Q,
  body: BodyOf<Q>,
): Promise<NodeAnswer<AnswerOf<Q>>> {
  try {
    const fn = answers[question] as (b: BodyOf<Q>) => AnswerOf<Q>;
    return { node, ok: true, value: await fn.call(answers, body) };
  } catch (err) {
    return { node, ok: false, code: 'remote', error: (err as Error).message };
  }
}

/** The cluster's MgmtPeers: serves this node's answers to the others and asks them over the bus. */
export class MgmtRpc implements MgmtPeers {
  private readonly offs: Array<() => void> = [];

  constructor(
    private readonly bus: ClusterBus,
    private readonly membership: Membership,
    private readonly answers: MgmtAnswers,
  ) {}

  get self(): string {
    return this.bus.node;
  }

  get clusterName(): string {
    return this.bus.config.name;
  }

  /** Starts answering other nodes. */
  serve(): void {
    for (const q of QUESTIONS) {
      this.offs.push(
        this.bus.handle(`mgmt_${q}`, async (body) => {
          const value = await (this.answers[q] as (b: unknown) => unknown).call(this.answers, body);
          // An answer over the server's max_payload could not be sent: say so in a small error instead.
          const size = Buffer.byteLength(JSON.stringify({ ok: value }) ?? '');
          const max = this.bus.control.info?.max_payload ?? 1024 * 1024;
          if (size > max)
            throw new Error(`the answer to mgmt_${q} is ${size} bytes, over the bus's max_payload of ${max}`);
          return value;
        }),
      );
    }
  }

  close(): void {
    for (const off of this.offs.splice(0)) off();
  }

  running(): string[] {
    return this.membership.alive();
  }

  stopped(): string[] {
    return [...this.membership.nodes()]
      .filter(([, p]) => !p.alive)
      .map(([name]) => name)
      .sort();
  }

  async ask<Q extends Question>(
    node: string,
    question: Q,
    body: BodyOf<Q>,
  ): Promise<NodeAnswer<AnswerOf<Q>>> {
    if (node === this.self) return answerLocally(this.answers, node, question, body);
    try {
      const value = (await this.bus.call(node, `mgmt_${question}`, body)) as AnswerOf<Q>;
      return { node, ok: true, value };
    } catch (err) {
      const code = (err as Partial<RpcError>).code ?? 'remote';
      return { node, ok: false, code, error: (err as Error).message };
    }
  }

  askAll<Q extends Question>(
    question: Q,
    body: BodyOf<Q>,
    nodes: string[] = this.running(),
  ): Promise<NodeAnswer<AnswerOf<Q>>[]> {
    return Promise.all(nodes.map((n) => this.ask(n, question, body)));
  }
}
