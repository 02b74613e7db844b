/**
 * CONNECT: validate, run client.connect, check bans, authenticate (possibly over an AUTH exchange), open the
 * session (taking over an existing one) and answer CONNACK.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  applyAuthResult,
  credentialOf,
  isBanned,
  NO_CLIENT_ATTRS,
  renderMountpoint,
} from '../../access/login.js';
import { NEVER_EXPIRE } from '../../broker/broker.js';
import type { SessionSettings } from '../../broker/session.js';
import { mount, topicNameError } from '../../broker/topic.js';
import type { AuthnResult, ClientInfo, ConnInfo } from '../../broker/types.js';
import type { MqttConfig } from '../../config/schema/index.js';
import { logger } from '../../log.js';
import type { ConnackProperties, ConnectPacket, ConnectProperties } from '../codec/packets.js';
import { connackCodeV3, RC, reasonName } from '../reason-codes.js';
import { ChannelState, type ConnackProps, type HandlerResult, type MqttClient } from '../state.js';

/** Handles the first CONNECT of a connection. */
export function handleConnect(ch: MqttClient, p: ConnectPacket): HandlerResult {
  const host = ch.host;
  const cfg = host.mqtt;
  const m = host.broker.metrics.c;
  m['packets.connect.received']++;
  m['client.connect']++;
  ch.version = p.protocolVersion;
  ch.state = ChannelState.Connecting;

  let clientid = p.clientId;
  let assigned = false;
  if (clientid.length === 0) {
    // 3.1 requires 1–23 characters; 3.1.1 allows an empty id only with a clean session [MQTT-3.1.3-8].
    if (p.protocolVersion === 3 || (p.protocolVersion === 4 && !p.cleanStart)) {
      return refuse(ch, RC.CLIENT_IDENTIFIER_NOT_VALID, 'empty client id not allowed');
    }
    clientid = `hermod-${randomBytes(8).toString('hex')}`;
    assigned = true;
  }
  if (Buffer.byteLength(clientid) > cfg.max_clientid_len) {
    return refuse(
      ch,
      RC.CLIENT_IDENTIFIER_NOT_VALID,
      `client id longer than max_clientid_len (${cfg.max_clientid_len})`,
    );
  }

  const props = p.properties ?? {};
  if (p.protocolVersion === 5) {
    ch.clientMaxPacketSize = props.maximumPacketSize ?? 0;
    ch.clientTopicAliasMax = props.topicAliasMaximum ?? 0;
    ch.requestProblemInfo = props.requestProblemInformation !== 0;
  }

  const will = p.will;
  if (will !== undefined) {
    const err = topicNameError(will.topic, {
      maxLevels: cfg.max_topic_levels,
      maxLength: cfg.max_topic_length,
    });
    if (err !== undefined) return refuse(ch, RC.TOPIC_NAME_INVALID, `invalid will topic: ${err}`);
    if (will.qos > cfg.max_qos_allowed)
      return refuse(ch, RC.QOS_NOT_SUPPORTED, 'will QoS above max_qos_allowed');
    if (will.retain && !cfg.retain_available)
      return refuse(ch, RC.RETAIN_NOT_SUPPORTED, 'retained will not supported');
    ch.will = will;
  }

  const conn = ch.conn;
  let keepalive = p.keepalive;
  let serverKeepalive: number | undefined;
  if (p.protocolVersion === 5 && cfg.server_keepalive > 0) {
    serverKeepalive = cfg.server_keepalive;
    keepalive = serverKeepalive;
  }
  let expiry = sessionExpiry(p, cfg);
  let expiryCapped = false;
  if (p.protocolVersion === 5 && expiry > cfg.max_session_expiry_interval) {
    expiry = cfg.max_session_expiry_interval;
    expiryCapped = true;
  }
  ch.connectExpiry = expiry;
  ch.keepaliveMs = keepalive * 1000;

  const connInfo: ConnInfo = {
    clientid,
    username: p.username,
    peerhost: conn.peerhost,
    peerport: conn.peerport,
    sockport: conn.sockport,
    proto_name: p.protocolName,
    proto_ver: p.protocolVersion,
    keepalive,
    clean_start: p.cleanStart,
    expiry_interval: expiry,
    connected_at: Date.now(),
    receive_maximum: props.receiveMaximum ?? 65535,
  };
  const cert = conn.peerCert;
  const clientInfo: ClientInfo = {
    node: host.broker.settings.node,
    clientid,
    username: p.username,
    peerhost: conn.peerhost,
    peerport: conn.peerport,
    sockport: conn.sockport,
    protocol: 'mqtt',
    mountpoint: '',
    listener: ch.listener.id,
    zone: ch.listener.zone,
    is_superuser: false,
    anonymous: p.username === undefined,
    is_bridge: p.bridge,
    cn: cert?.cn,
    dn: cert?.dn,
    client_attrs: NO_CLIENT_ATTRS,
  };
  applyCertIdentity(clientInfo, connInfo, cfg, cert);
  ch.connInfo = connInfo;
  ch.clientInfo = clientInfo;
  const connack: Pick<ConnackProps, 'assigned' | 'serverKeepalive' | 'expiryCapped'> = {
    assigned,
    serverKeepalive,
    expiryCapped,
  };

  const hooks = host.broker.hooks;
  if (hooks.has('client.connect')) {
    const r = hooks.runFold('client.connect', [connInfo], props);
    const next = (v: ConnectProperties | { error: number }): HandlerResult =>
      'error' in v ? refuse(ch, v.error, 'refused by client.connect hook') : afterConnectHook(ch, p, connack);
    return r instanceof Promise ? r.then(next) : next(r);
  }
  return afterConnectHook(ch, p, connack);
}

function afterConnectHook(ch: MqttClient, p: ConnectPacket, connack: ConnackProps): HandlerResult {
  const host = ch.host;
  if (isBanned(host.banned, ch.clientInfo)) return refuse(ch, RC.BANNED, 'banned');
  const enable = ch.listener.enableAuthn;
  if (enable === 'quick_deny_anonymous' && p.username === undefined) {
    return refuse(ch, RC.NOT_AUTHORIZED, 'anonymous client refused (quick_deny_anonymous)');
  }
  if (enable === false) return completeConnect(ch, p, { kind: 'ok' }, connack);
  const method = p.properties?.authenticationMethod;
  if (method !== undefined) {
    ch.enhancedAuth = { method, state: undefined, reauth: false };
    ch.authMethod = method;
  }
  const access = host.access;
  // No authenticator: the credential would only be built to be ignored.
  const r = access.hasAuthenticators
    ? access.authenticate(credentialOf(ch.clientInfo, p.password, method, p.properties?.authenticationData))
    : access.anonymous();
  return r instanceof Promise
    ? r.then((v) => onAuthResult(ch, p, v, connack))
    : onAuthResult(ch, p, r, connack);
}

/** Continues a login after one authentication round (the first, or one per AUTH packet). */
export function onAuthResult(
  ch: MqttClient,
  p: ConnectPacket,
  r: AuthnResult,
  connack: ConnackProps,
): HandlerResult {
  if (ch.state !== ChannelState.Connecting) return;
  const enhanced = ch.enhancedAuth;
  switch (r.kind) {
    case 'continue': {
      if (enhanced === undefined)
        return refuse(ch, RC.BAD_AUTHENTICATION_METHOD, 'authenticator asked to continue without a method');
      enhanced.state = r.state;
      ch.pendingConnect = { packet: p, connack };
      ch.send({
        cmd: 'auth',
        reasonCode: RC.CONTINUE_AUTHENTICATION,
        properties: { authenticationMethod: enhanced.method, authenticationData: r.auth_data },
      });
      ch.host.broker.metrics.c['packets.auth.sent']++;
      return;
    }
    case 'error':
      return refuse(ch, authErrorCode(r.reason), r.message ?? r.reason);
    case 'ignore':
      // Nobody claimed the client: anonymous success, unless it asked for a method nobody speaks.
      if (enhanced !== undefined)
        return refuse(ch, RC.BAD_AUTHENTICATION_METHOD, `no authenticator for method ${enhanced.method}`);
      return completeConnect(ch, p, { kind: 'ok' }, connack);
    case 'ok':
      return completeConnect(ch, p, r, connack);
  }
}

function authErrorCode(reason: string): number {
  switch (reason) {
    case 'bad_username_or_password':
      return RC.BAD_USERNAME_OR_PASSWORD;
    case 'bad_authentication_method':
      return RC.BAD_AUTHENTICATION_METHOD;
    case 'banned':
      return RC.BANNED;
    case 'server_unavailable':
      return RC.SERVER_UNAVAILABLE;
    case 'client_identifier_not_valid':
      return RC.CLIENT_IDENTIFIER_NOT_VALID;
    case 'quota_exceeded':
      return RC.QUOTA_EXCEEDED;
    default:
      return RC.NOT_AUTHORIZED;
  }
}

function completeConnect(
  ch: MqttClient,
  p: ConnectPacket,
  auth: Extract<AuthnResult, { kind: 'ok' }>,
  connack: ConnackProps,
): HandlerResult {
  const host = ch.host;
  const cfg = host.mqtt;
  const ci = ch.clientInfo;
  applyAuthResult(ci, auth);
  if (cfg.use_username_as_clientid && ci.username !== undefined && ci.username.length > 0) {
    ci.clientid = ci.username;
    ch.connInfo.clientid = ci.username;
  }
  renderMountpoint(ci, ch.listener.mountpoint);
  ch.enhancedAuth = undefined;
  ch.pendingConnect = undefined;
  // A new login starts with an empty cache, made by the first authorization (MqttChannel.authorize).
  ch.authzCache = undefined;

  const settings = sessionSettings(cfg, p.protocolVersion);
  // A cluster node first claims the client id cluster-wide (the session may come from another node).
  const claim = host.broker.cluster?.registry?.claim({
    namespace: ch.namespace,
    clientid: ci.clientid,
    cleanStart: p.cleanStart,
    expiryInterval: ch.connectExpiry,
    clientInfo: ci,
    settings,
    will: ch.will === undefined ? undefined : { ...ch.will, topic: mount(ci.mountpoint, ch.will.topic) },
  });
  if (claim === undefined) return openAndAnswer(ch, p, auth, connack, settings);
  return claim.then((r) => {
    if (ch.state !== ChannelState.Connecting) return;
    if (!r.ok) return refuse(ch, RC.SERVER_BUSY, r.message);
    return openAndAnswer(ch, p, auth, connack, settings);
  });
}

function openAndAnswer(
  ch: MqttClient,
  p: ConnectPacket,
  auth: Extract<AuthnResult, { kind: 'ok' }>,
  connack: ConnackProps,
  settings: SessionSettings,
): HandlerResult {
  const host = ch.host;
  const ci = ch.clientInfo;
  const { session, present } = host.broker.openSession({
    namespace: ch.namespace,
    clientid: ci.clientid,
    cleanStart: p.cleanStart,
    expiryInterval: ch.connectExpiry,
    channel: ch,
    clientInfo: ci,
    settings,
  });
  ch.session = session;
  session.receiveMaximum = ch.connInfo.receive_maximum ?? 65535;

  let props: ConnackProperties | undefined;
  if (p.protocolVersion === 5) props = connackProperties(ch, p, connack, auth.auth_data);
  const hooks = host.broker.hooks;
  const finish = (finalProps: ConnackProperties | undefined): void => {
    if (ch.state !== ChannelState.Connecting) return;
    sendConnack(ch, present, RC.SUCCESS, finalProps);
    ch.state = ChannelState.Connected;
    const metrics = host.broker.metrics;
    metrics.c['client.connected']++;
    metrics.addStat('connections', 1);
    metrics.addStat('live_connections', 1);
    metrics.addStat('channels', 1);
    if (hooks.has('client.connected')) hooks.run('client.connected', ci, ch.connInfo);
    ch.armAuthExpiry(auth.expire_at);
    session.attach(ch);
  };
  if (hooks.has('client.connack')) {
    const r = hooks.runFold('client.connack', [ch.connInfo, 'success'], props ?? {});
    const done = (v: ConnackProperties) => finish(p.protocolVersion === 5 ? v : undefined);
    if (r instanceof Promise) return r.then(done);
    done(r);
    return;
  }
  finish(props);
}

function connackProperties(
  ch: MqttClient,
  p: ConnectPacket,
  c: ConnackProps,
  authData: Buffer | undefined,
): ConnackProperties {
  const cfg = ch.host.mqtt;
  const props: ConnackProperties = {
    receiveMaximum: cfg.max_inflight,
    maximumPacketSize: Math.min(cfg.max_packet_size, 268435455),
    topicAliasMaximum: cfg.max_topic_alias,
    wildcardSubscriptionAvailable: cfg.wildcard_subscription ? 1 : 0,
    sharedSubscriptionAvailable: cfg.shared_subscription ? 1 : 0,
    subscriptionIdentifiersAvailable: 1,
  };
  if (cfg.max_qos_allowed < 2) props.maximumQoS = cfg.max_qos_allowed;
  if (!cfg.retain_available) props.retainAvailable = 0;
  if (c.assigned) props.assignedClientIdentifier = ch.clientInfo.clientid;
  if (c.serverKeepalive !== undefined) props.serverKeepAlive = c.serverKeepalive;
  if (c.expiryCapped) props.sessionExpiryInterval = ch.connectExpiry;
  if (p.properties?.requestResponseInformation === 1 && cfg.response_information !== '') {
    props.responseInformation = cfg.response_information;
  }
  const method = p.properties?.authenticationMethod;
  if (method !== undefined) {
    props.authenticationMethod = method;
    if (authData !== undefined) props.authenticationData = authData;
  }
  return props;
}

/**
 * The two accepting CONNACKs of MQTT 3.x (session present or not), shared: frames handed to a connection are
 * never modified, and these need no packet object or serialisation per CONNECT.
 */
const CONNACK_V3_ACCEPTED: Buffer = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const CONNACK_V3_ACCEPTED_PRESENT: Buffer = Buffer.from([0x20, 0x02, 0x01, 0x00]);

function sendConnack(ch: MqttClient, present: boolean, rc: number, props?: ConnackProperties): void {
  const v5 = ch.version === 5;
  if (!v5 && rc === RC.SUCCESS) {
    // MQTT 3.1 has no session present flag: the byte is reserved.
    const flag = present && ch.version !== 3;
    if (!ch.conn.closed) ch.sendFrame(flag ? CONNACK_V3_ACCEPTED_PRESENT : CONNACK_V3_ACCEPTED);
  } else {
    ch.send({
      cmd: 'connack',
      sessionPresent: rc === RC.SUCCESS && present,
      reasonCode: v5 ? rc : connackCodeV3(rc),
      properties: v5 ? props : undefined,
    });
  }
  const c = ch.host.broker.metrics.c;
  c['packets.connack.sent']++;
  c['client.connack']++;
  if (rc !== RC.SUCCESS) {
    c['packets.connack.error']++;
    if (
      rc === RC.NOT_AUTHORIZED ||
      rc === RC.BAD_USERNAME_OR_PASSWORD ||
      rc === RC.BAD_AUTHENTICATION_METHOD
    ) {
      c['packets.connack.auth_error']++;
    }
  }
}

/** Refuses the login with CONNACK `rc` (mapped to a 3.x return code for old clients) and closes. */
export function refuse(ch: MqttClient, rc: number, detail: string): void {
  if (ch.state === ChannelState.Closed) return;
  logger.info(
    {
      clientid: ch.clientInfo?.clientid,
      peer: `${ch.conn.peerhost}:${ch.conn.peerport}`,
      rc: reasonName(rc),
    },
    `mqtt: connection refused: ${detail}`,
  );
  const connInfo = ch.connInfo;
  if (connInfo !== undefined && ch.host.broker.hooks.has('client.connack')) {
    ch.host.broker.hooks.runFold('client.connack', [connInfo, reasonName(rc)], {});
  }
  sendConnack(ch, false, rc, ch.version === 5 ? ch.reasonString(detail) : undefined);
  ch.will = undefined;
  ch.close(reasonName(rc));
}

function sessionExpiry(p: ConnectPacket, cfg: MqttConfig): number {
  if (p.protocolVersion === 5) return p.properties?.sessionExpiryInterval ?? 0;
  // 3.x has no expiry on the wire: a persistent session lasts mqtt.session_expiry_interval.
  if (p.cleanStart) return 0;
  const s = cfg.session_expiry_interval / 1000;
  return s >= NEVER_EXPIRE ? NEVER_EXPIRE : Math.floor(s);
}

/** Session settings for a connection of protocol level `version`. */
// One SessionSettings per (config, MQTT 5 or not), shared by every session made with it (nothing mutates
// one): a copy per connection was ~100 B of each idle connection's heap (bench/conn-memory.ts).
const settingsCache = new WeakMap<MqttConfig, [SessionSettings | undefined, SessionSettings | undefined]>();

export function sessionSettings(cfg: MqttConfig, version: number): SessionSettings {
  let pair = settingsCache.get(cfg);
  if (pair === undefined) {
    pair = [undefined, undefined];
    settingsCache.set(cfg, pair);
  }
  const k = version === 5 ? 1 : 0;
  return (pair[k] ??= buildSessionSettings(cfg, version));
}

function buildSessionSettings(cfg: MqttConfig, version: number): SessionSettings {
  return {
    maxInflight: cfg.max_inflight,
    maxMqueueLen: cfg.max_mqueue_len,
    mqueueStoreQos0: cfg.mqueue_store_qos0,
    dropPolicy: cfg.mqueue_drop_policy,
    maxAwaitingRel: cfg.max_awaiting_rel,
    awaitRelTimeout: cfg.await_rel_timeout,
    // MQTT 5 allows resending only on reconnect [MQTT-4.4.0-1].
    retryInterval: version === 5 ? 0 : cfg.retry_interval,
    upgradeQos: cfg.upgrade_qos,
    maxSubscriptions: cfg.max_subscriptions,
  };
}

function applyCertIdentity(
  ci: ClientInfo,
  conn: ConnInfo,
  cfg: MqttConfig,
  cert: { cn?: string; dn?: string; pem?: string } | undefined,
): void {
  if (cert === undefined) return;
  const pick = (what: string): string | undefined => {
    switch (what) {
      case 'cn':
        return cert.cn;
      case 'dn':
        return cert.dn;
      case 'crt':
      case 'pem':
        return cert.pem;
      case 'md5':
        return cert.pem === undefined ? undefined : md5(cert.pem);
      default:
        return undefined;
    }
  };
  const user = pick(cfg.peer_cert_as_username);
  if (user !== undefined) {
    ci.username = user;
    conn.username = user;
    ci.anonymous = false;
  }
  const id = pick(cfg.peer_cert_as_clientid);
  if (id !== undefined) {
    ci.clientid = id;
    conn.clientid = id;
  }
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}
