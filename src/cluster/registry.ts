/**
 * The cluster-wide client registry (the `clients` bucket): one key per (namespace, clientid), holding the
 * node that owns the client and its state. A compare-and-set on the key's revision is the lock (EMQX takes
 * an ekka quorum lock instead), so of two logins of one client id on two nodes exactly one ends up owning
 * it. A login on a cluster node first claims its key here (`claim`): with the previous owner on another
 * node it takes the session over by rpc (takeover.ts) or discards it; with the owner gone it loads the
 * persisted record (sessions.ts). The broker then opens the session synchronously, as on a single node.
 *
 * Cut off from the bus a node keeps serving its clients; when the bus is back it re-asserts its entries,
 * the newest connection winning a conflict (see `reassert`). Sessions of a node that died are adopted by
 * the survivors (adoption.ts).
 */
import type { KV } from '@nats-io/kv';
import type { LiveChannel, SessionRecord } from '../broker/client-registry.js';
import type { ClaimOutcome, ClaimRequest, RegistrySeam } from '../broker/cluster-seam.js';
import { offlineClientInfo, restoreSession } from '../broker/session-store.js';
import { logger } from '../log.js';
import { Adoption } from './adoption.js';
import {
  type EntryState,
  lostRace,
  type RegistryCore,
  type RegistryEntry,
  registryKey,
  savedWill,
} from './registry-entry.js';
import { type PersistedSession, persistedOf, SessionRecords, savedOf } from './sessions.js';
import { TakeoverService } from './takeover.js';
import type { ClusterContext, ClusterPart } from './types.js';

const OK: ClaimOutcome = { ok: true };
/** CAS attempts before a login is answered "server busy" (each lost race or busy claimer costs one). */
const MAX_ATTEMPTS = 40;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

export class ClusterRegistry implements ClusterPart, RegistrySeam, RegistryCore {
  readonly name = 'registry';
  private ctxRef: ClusterContext | undefined;
  private kvRef: KV | undefined;
  private recordsRef: SessionRecords | undefined;
  /** Entries this node wrote last, with their revision (the CAS base of its next write). */
  private readonly owned = new Map<string, { entry: RegistryEntry; rev: number }>();
  /** One chain of registry work per key: a key's claims and writes on this node never interleave. */
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Sessions whose record must be rewritten (subscriptions changed), flushed once per tick. */
  private readonly toPersist = new Set<SessionRecord>();
  private persistScheduled = false;
  private busDown = false;
  /** Keys of sessions that ended while the bus was away: their entries go once it is back. */
  private readonly endedOffline = new Set<string>();
  private readonly offs: Array<() => void> = [];
  private takeover: TakeoverService | undefined;
  private adoption: Adoption | undefined;

  get ctx(): ClusterContext {
    if (this.ctxRef === undefined) throw new Error('cluster registry is not started');
    return this.ctxRef;
  }

  get kv(): KV {
    if (this.kvRef === undefined) throw new Error('cluster registry is not started');
    return this.kvRef;
  }

  get records(): SessionRecords {
    if (this.recordsRef === undefined) throw new Error('cluster registry is not started');
    return this.recordsRef;
  }

  private get node(): string {
    return this.ctx.host.name;
  }

  get incarnation(): string {
    return this.ctx.membership.self.incarnation;
  }

  /** How long a claim by a live node may stay `taking_over` before others stop waiting for it. */
  private get claimTimeout(): number {
    return this.ctx.bus.config.nats.request_timeout * 3;
  }

  async start(ctx: ClusterContext): Promise<void> {
    this.ctxRef = ctx;
    this.kvRef = await ctx.bus.kv('clients');
    this.recordsRef = new SessionRecords(await ctx.bus.kv('sessions'));
    this.takeover = new TakeoverService(ctx, this);
    this.adoption = new Adoption(ctx, this);
    const broker = ctx.host.broker;
    broker.cluster = { ...broker.cluster, registry: this };
    const changed = (ci: { clientid: string; protocol: string }): undefined => {
      const record =
        broker.registry.get('mqtt', ci.clientid) ?? broker.registry.get(ci.protocol, ci.clientid);
      if (record !== undefined && record.session.expiryInterval > 0) this.persistSoon(record);
      return undefined;
    };
    this.offs.push(ctx.host.hooks.add('session.subscribed', changed, -1000, 'cluster-registry'));
    this.offs.push(ctx.host.hooks.add('session.unsubscribed', changed, -1000, 'cluster-registry'));
    this.offs.push(
      ctx.bus.onEvent((e) => {
        if (e === 'disconnected') {
          this.busDown = true;
          this.adoption?.pause();
        } else if (this.busDown) {
          this.busDown = false;
          // Peers look down until their next heartbeat: no adoption before they had the time to show up.
          this.adoption?.pause(this.ctx.bus.config.node_down_after * 2);
          void this.reassertUntilDone();
        }
      }),
    );
  }

  async ready(): Promise<void> {
    // Sessions restored from the local store may have moved while this node was away.
    await this.reassertAll();
    this.adoption?.start();
  }

  async stop(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    this.adoption?.stop();
    this.takeover?.stop();
    const broker = this.ctx.host.broker;
    if (broker.cluster?.registry === this) broker.cluster = { ...broker.cluster, registry: undefined };
    this.flushPersist();
    // Let the last writes (clients closed by the shutdown) reach the bus, but never hang the stop on it.
    await Promise.race([Promise.allSettled([...this.chains.values()]), sleep(3000)]);
  }

  // ---------------------------------------------------------------- the seam

  claim(req: ClaimRequest): Promise<ClaimOutcome> {
    const key = registryKey(req.namespace, req.clientid);
    return this.serial(key, () => this.claimKey(key, req));
  }

  opened(record: SessionRecord): void {
    const key = registryKey(record.namespace, record.session.clientid);
    // Opened without a claim (the bus was away, or an embedding called openSession directly): register it
    // now, or once the bus is back (re-assert covers every local session).
    if (this.owned.has(key)) this.persistSoon(record);
    else if (!this.busDown) this.background(key, 'entry not written', () => this.reassertOne(key, record));
  }

  closed(record: SessionRecord): void {
    const key = registryKey(record.namespace, record.session.clientid);
    this.background(key, 'disconnect not recorded', async () => {
      const o = this.owned.get(key);
      if (o !== undefined && !this.busDown)
        await this.write(key, { ...o.entry, state: 'offline', will: undefined }, o.rev);
      await this.persist(key, record);
    });
  }

  /** Queues registry work for `key` whose failure (the bus away) is logged; re-assert repairs it later. */
  private background(key: string, what: string, fn: () => Promise<void>): void {
    this.serial(key, fn).catch((err) =>
      logger.warn({ err: (err as Error).message, key }, `cluster registry: ${what}`),
    );
  }

  ended(record: SessionRecord): void {
    this.toPersist.delete(record);
    const key = registryKey(record.namespace, record.session.clientid);
    this.background(key, 'could not remove an ended session', async () => {
      const o = this.owned.get(key);
      this.owned.delete(key);
      if (this.busDown) {
        this.endedOffline.add(key);
        return;
      }
      if (o !== undefined) {
        try {
          await this.kv.delete(key, { previousSeq: o.rev });
        } catch {
          // Claimed by another node since: the key is theirs.
        }
      }
      await this.records.remove(key);
    });
  }

  async ownerOf(namespace: string, clientid: string): Promise<string | undefined> {
    const e = await this.kv.get(registryKey(namespace, clientid));
    return e === null || e.operation !== 'PUT' ? undefined : e.json<RegistryEntry>().node;
  }

  // ---------------------------------------------------------------- claims

  private async claimKey(key: string, req: ClaimRequest): Promise<ClaimOutcome> {
    if (this.busDown) return OK; // re-asserted when the bus is back
    const entry = (state: EntryState, extra: Partial<RegistryEntry> = {}): RegistryEntry => ({
      clientid: req.clientid,
      namespace: req.namespace,
      node: this.node,
      incarnation: this.incarnation,
      state,
      connected_at: Date.now(),
      claimed_at: Date.now(),
      expiry_interval: req.expiryInterval,
      will: req.will === undefined ? undefined : savedWill(req.will, req.clientid),
      ...extra,
    });
    try {
      // Most logins are of a client id nobody holds: one create, no read.
      if ((await this.write(key, entry('connected'), 0)) !== undefined) return OK;
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const cur = await this.kv.get(key);
        if (cur === null || cur.operation !== 'PUT') {
          if ((await this.write(key, entry('connected'), cur?.revision ?? 0)) === undefined) continue;
          await this.resumeHere(key, req);
          return OK;
        }
        const owner = cur.json<RegistryEntry>();
        if (owner.node === this.node) {
          // Ours already: the local openSession takes over or discards, as on a single node.
          if ((await this.write(key, entry('connected'), cur.revision)) === undefined) continue;
          await this.resumeHere(key, req);
          return OK;
        }
        if (
          owner.state === 'taking_over' &&
          this.ctx.membership.isAlive(owner.node) &&
          Date.now() - owner.claimed_at < this.claimTimeout
        ) {
          // Another node is mid-claim: queue behind it, then take over from it.
          await sleep(Math.min(200, 10 * 2 ** Math.min(attempt, 5)));
          continue;
        }
        const rev = await this.write(key, entry('taking_over', { from: owner.node }), cur.revision);
        if (rev === undefined) continue;
        await this.takeFrom(key, owner, req);
        if ((await this.write(key, entry('connected'), rev)) === undefined) {
          // A newer login of this id claimed the key meanwhile: it wins, this one is refused.
          const local = this.ctx.host.broker.registry.get(req.namespace, req.clientid);
          if (local !== undefined && local.channel === undefined) this.ctx.host.broker.forget(local);
          return { ok: false, reason: 'superseded', message: 'a newer login of this client id took over' };
        }
        return OK;
      }
      return { ok: false, reason: 'busy', message: 'client id is being taken over elsewhere; try again' };
    } catch (err) {
      // The bus is unreachable: serve the client locally; re-asserted once the bus is back.
      logger.warn(
        { err: (err as Error).message, clientid: req.clientid },
        'cluster registry: claim not written (bus unavailable); serving the client locally',
      );
      this.owned.delete(key);
      return OK;
    }
  }

  /**
   * Gets the session from its previous node: taken over by rpc (clean start false) or discarded there
   * (clean start true). An owner that is down or does not answer leaves the persisted record.
   */
  private async takeFrom(key: string, owner: RegistryEntry, req: ClaimRequest): Promise<void> {
    const broker = this.ctx.host.broker;
    // A local copy while another node owns the key is stale (left from a partition): the owner's wins.
    const stale = broker.registry.get(req.namespace, req.clientid);
    if (stale !== undefined && stale.channel === undefined) broker.forget(stale);
    if (this.ctx.membership.isAlive(owner.node)) {
      try {
        const moved = req.cleanStart
          ? await this.takeover!.discardOn(owner.node, req)
          : await this.takeover!.takeOverFrom(owner.node, req);
        if (moved) {
          if (req.cleanStart) await this.records.remove(key, true);
          return;
        }
      } catch (err) {
        logger.warn(
          { err: (err as Error).message, clientid: req.clientid, owner: owner.node },
          'cluster registry: previous owner did not hand the session over; using its persisted record',
        );
      }
    }
    await this.resumeHere(key, req);
  }

  /** After a claim with no session handed over: the persisted record resumes (or goes, on clean start). */
  private async resumeHere(key: string, req: ClaimRequest): Promise<void> {
    const broker = this.ctx.host.broker;
    if (broker.registry.get(req.namespace, req.clientid) !== undefined) return;
    if (req.cleanStart) {
      await this.records.remove(key, true);
      return;
    }
    const p = await this.records.read(key);
    if (p !== undefined && this.install(p, req.settings) === undefined) await this.records.remove(key, true);
  }

  /** Puts a persisted session into the local registry as an offline session (undefined when expired). */
  install(p: PersistedSession, settings: ClaimRequest['settings']): SessionRecord | undefined {
    const broker = this.ctx.host.broker;
    const record = restoreSession(broker, p.namespace, savedOf(p), settings, (ci) =>
      offlineClientInfo(this.node, ci),
    );
    if (record !== undefined) broker.armExpiry(record);
    return record;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Writes `entry` if the key is still at revision `base` (0: absent or deleted). Returns the new revision,
   * or undefined when another write came first.
   */
  async write(key: string, entry: RegistryEntry, base: number): Promise<number | undefined> {
    try {
      const value = JSON.stringify(entry);
      const rev = base === 0 ? await this.kv.create(key, value) : await this.kv.update(key, value, base);
      this.owned.set(key, { entry, rev });
      return rev;
    } catch (err) {
      if (!lostRace(err)) throw err;
      this.owned.delete(key);
      return undefined;
    }
  }

  /** Forgets this node's write of `key` (the session moved elsewhere). */
  disown(key: string): void {
    this.owned.delete(key);
  }

  /** Runs `fn` after every earlier registry job of `key` on this node. */
  serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return next;
  }

  private persistSoon(record: SessionRecord): void {
    this.toPersist.add(record);
    if (this.persistScheduled) return;
    this.persistScheduled = true;
    setImmediate(() => this.flushPersist());
  }

  private flushPersist(): void {
    this.persistScheduled = false;
    for (const record of this.toPersist) {
      const key = registryKey(record.namespace, record.session.clientid);
      this.background(key, 'session record not written', () => this.persist(key, record));
    }
    this.toPersist.clear();
  }

  /** Writes (or, for a session without expiry, removes) the persisted record of a local session. */
  private async persist(key: string, record: SessionRecord): Promise<void> {
    const broker = this.ctx.host.broker;
    if (this.busDown || broker.registry.get(record.namespace, record.session.clientid) !== record) return;
    if (record.session.expiryInterval > 0) await this.records.write(key, persistedOf(record, this.node));
    else await this.records.remove(key);
  }

  // ---------------------------------------------------------------- re-assert after a partition

  /** Re-asserts after the bus came back, retrying while JetStream is not answering yet. */
  private async reassertUntilDone(): Promise<void> {
    for (let i = 0; i < 20 && !this.busDown; i++) {
      if ((await this.reassertAll()) === 0) return;
      await sleep(500);
    }
  }

  /**
   * Re-writes this node's entries (after the bus came back, and at start for sessions from the store).
   * Returns how many could not be written.
   */
  async reassertAll(): Promise<number> {
    const broker = this.ctx.host.broker;
    const jobs: Promise<number>[] = [];
    for (const record of [...broker.registry.records()]) {
      const key = registryKey(record.namespace, record.session.clientid);
      jobs.push(
        this.serial(key, () => this.reassertOne(key, record)).then(
          () => 0,
          (err) => {
            logger.warn({ err: (err as Error).message, key }, 'cluster registry: entry not re-asserted');
            return 1;
          },
        ),
      );
    }
    for (const key of [...this.endedOffline]) {
      this.endedOffline.delete(key);
      jobs.push(
        this.serial(key, () => this.removeIfOurs(key)).then(
          () => 0,
          () => {
            this.endedOffline.add(key);
            return 1;
          },
        ),
      );
    }
    let failed = 0;
    for (const n of await Promise.all(jobs)) failed += n;
    return failed;
  }

  /** Deletes the entry of a session that ended here while the bus was away, unless another node has it now. */
  private async removeIfOurs(key: string): Promise<void> {
    const broker = this.ctx.host.broker;
    const cur = await this.kv.get(key);
    if (cur === null || cur.operation !== 'PUT') return;
    const e = cur.json<RegistryEntry>();
    if (e.node !== this.node || broker.registry.get(e.namespace, e.clientid) !== undefined) return;
    try {
      await this.kv.delete(key, { previousSeq: cur.revision });
    } catch {
      // written meanwhile: no longer stale
    }
    await this.records.remove(key, true);
  }

  /**
   * Makes the registry agree with a local session. Another node's entry wins when it is a live connection
   * newer than ours: our client is closed (session taken over) and our copy dropped. Otherwise ours is
   * written and the other node drops its copy.
   */
  private async reassertOne(key: string, record: SessionRecord): Promise<void> {
    const broker = this.ctx.host.broker;
    if (broker.registry.get(record.namespace, record.session.clientid) !== record) return;
    const ch: LiveChannel | undefined = record.channel;
    const mine: RegistryEntry = {
      clientid: record.session.clientid,
      namespace: record.namespace,
      node: this.node,
      incarnation: this.incarnation,
      state: ch === undefined ? 'offline' : 'connected',
      connected_at: ch?.connInfo.connected_at ?? record.disconnectedAt ?? 0,
      claimed_at: Date.now(),
      expiry_interval: record.session.expiryInterval,
      will: this.owned.get(key)?.entry.will,
    };
    const cur = await this.kv.get(key);
    if (cur === null || cur.operation !== 'PUT') {
      if ((await this.write(key, mine, cur?.revision ?? 0)) !== undefined) await this.persist(key, record);
      return;
    }
    const other = cur.json<RegistryEntry>();
    if (other.node === this.node) {
      if ((await this.write(key, mine, cur.revision)) !== undefined) await this.persist(key, record);
      return;
    }
    // Newest connection wins. Liveness is not asked: right after an outage every peer looks down.
    if (other.state === 'connected' && other.connected_at >= mine.connected_at) {
      logger.warn(
        { clientid: mine.clientid, namespace: mine.namespace, winner: other.node },
        'cluster registry: conflict after a partition; the newer connection on the other node wins, this one is closed (session taken over)',
      );
      ch?.kick('takenover');
      broker.forget(record);
      this.owned.delete(key);
      return;
    }
    if ((await this.write(key, mine, cur.revision)) === undefined) return;
    await this.persist(key, record);
    try {
      await this.takeover!.yieldOn(other.node, mine);
    } catch (err) {
      logger.warn(
        { err: (err as Error).message, node: other.node },
        'cluster registry: peer did not drop its copy',
      );
    }
  }
}
