/**
 * The nodes the API speaks for. A single node is a cluster of one (LocalPeers; NATS is never loaded);
 * in a cluster the bus carries the questions (cluster/mgmt-rpc.ts). The helpers here are what the list
 * endpoints share: one page across nodes, and finding the node that has a client.
 */
import {
  type AnswerOf,
  answerLocally,
  type BodyOf,
  type MgmtAnswers,
  type MgmtPeers,
  MgmtRpc,
  type NodeAnswer,
  type Question,
  type Row,
} from '../cluster/mgmt-rpc.js';
import { logger } from '../log.js';
import { ApiError } from './errors.js';
import type { PageMeta } from './pagination.js';
import type { MgmtNode } from './types.js';

/** A node without a cluster: it answers for itself only. */
class LocalPeers implements MgmtPeers {
  constructor(
    readonly self: string,
    readonly clusterName: string,
    private readonly answers: MgmtAnswers,
  ) {}

  running(): string[] {
    return [this.self];
  }

  stopped(): string[] {
    return [];
  }

  async ask<Q extends Question>(
    node: string,
    question: Q,
    body: BodyOf<Q>,
  ): Promise<NodeAnswer<AnswerOf<Q>>> {
    if (node !== this.self)
      return { node, ok: false, code: 'no_node', error: `node ${node} is not in the cluster` };
    return answerLocally(this.answers, node, question, body);
  }

  askAll<Q extends Question>(
    question: Q,
    body: BodyOf<Q>,
    nodes = this.running(),
  ): Promise<NodeAnswer<AnswerOf<Q>>[]> {
    return Promise.all(nodes.map((n) => this.ask(n, question, body)));
  }
}

/** The peers of a node, serving its answers to the others when it is in a cluster; `close` stops that. */
export function openPeers(node: MgmtNode, answers: MgmtAnswers): { peers: MgmtPeers; close(): void } {
  const cluster = node.cluster;
  if (cluster === undefined)
    return { peers: new LocalPeers(node.name, node.config.cluster.name, answers), close: () => undefined };
  const rpc = new MgmtRpc(cluster.bus, cluster.membership, answers);
  rpc.serve();
  return { peers: rpc, close: () => rpc.close() };
}

/** Logs the nodes that did not answer a listing (the listing goes on without them, as EMQX's does). */
export function okAnswers<T>(answers: NodeAnswer<T>[], what: string): Array<{ node: string; value: T }> {
  const out: Array<{ node: string; value: T }> = [];
  for (const a of answers) {
    if (a.ok) out.push({ node: a.node, value: a.value });
    else logger.warn({ node: a.node, error: a.error }, `management: a node did not answer ${what}`);
  }
  return out;
}

/** Rows per answer from another node: a client row is about 2 KB of JSON. */
const ROWS_PER_ANSWER = 200;

/**
 * One page of a list spread over nodes (clients, subscriptions, gateway clients): the nodes in name order,
 * each node's matches in its own order, `meta.count` the cluster's total. Every node is asked at once for its
 * count, then the nodes holding part of the page for those rows, so a silent node costs one timeout, not one
 * per node. This node alone is asked once. `node` restricts the list to one node (an unknown node lists nothing).
 */
export async function pageAcross(
  peers: MgmtPeers,
  question: 'clients' | 'subscriptions' | 'gateway_clients',
  query: Row,
  page: { page: number; limit: number },
  node?: string,
): Promise<{ data: Row[]; meta: PageMeta }> {
  const nodes = node === undefined ? peers.running() : peers.running().filter((n) => n === node);
  const start = (page.page - 1) * page.limit;
  const meta = (count: number, rows: number) => ({
    page: page.page,
    limit: page.limit,
    count,
    hasnext: start + rows < count,
  });
  if (nodes.length === 1 && nodes[0] === peers.self) {
    const [a] = okAnswers(
      [await peers.ask(nodes[0]!, question, { query, offset: start, limit: page.limit })],
      question,
    );
    return a === undefined
      ? { data: [], meta: meta(0, 0) }
      : { data: a.value.rows, meta: meta(a.value.count, a.value.rows.length) };
  }
  const counts = okAnswers(await peers.askAll(question, { query, offset: 0, limit: 0 }, nodes), question);
  let count = 0;
  let skip = start;
  let need = page.limit;
  const parts: Array<{ node: string; offset: number; limit: number }> = [];
  for (const { node: n, value } of counts) {
    count += value.count;
    if (need > 0 && skip < value.count) {
      const take = Math.min(need, value.count - skip);
      parts.push({ node: n, offset: skip, limit: take });
      need -= take;
    }
    skip = Math.max(0, skip - value.count);
  }
  // Another node's rows travel over the bus in chunks that stay well under NATS's max_payload (1 MB).
  const asks = parts.flatMap((p) => {
    const step = p.node === peers.self ? p.limit : ROWS_PER_ANSWER;
    const out: Array<{ node: string; offset: number; limit: number }> = [];
    for (let o = 0; o < p.limit; o += step)
      out.push({ node: p.node, offset: p.offset + o, limit: Math.min(step, p.limit - o) });
    return out;
  });
  const slices = await Promise.all(
    asks.map((p) => peers.ask(p.node, question, { query, offset: p.offset, limit: p.limit })),
  );
  const data = okAnswers(slices, question).flatMap((a) => a.value.rows);
  return { data, meta: meta(count, data.length) };
}

/** The first answer of the nodes other than this one that is not null (a client lives on one node). */
export async function findElsewhere<Q extends 'client_op'>(
  peers: MgmtPeers,
  question: Q,
  body: BodyOf<Q>,
): Promise<NonNullable<AnswerOf<Q>> | undefined> {
  const others = peers.running().filter((n) => n !== peers.self);
  if (others.length === 0) return undefined;
  for (const a of okAnswers(await peers.askAll(question, body, others), question)) {
    if (a.value !== null) return a.value as NonNullable<AnswerOf<Q>>;
  }
  return undefined;
}

/** A node that is known but did not answer: 503, not a hang or a 500. */
export function nodeDown(a: { node: string; error: string }): ApiError {
  return new ApiError(503, 'NODE_DOWN', `node ${a.node} did not answer: ${a.error}`);
}
