/**
 * The JSON bodies EMQX 4.x's web hook posts, one per event: `action` names the event, client events carry
 * `clientid`/`username`, message events `from_client_id`/`from_username`, `topic`, `qos`, `retain`,
 * `payload` and `ts` (ms when the broker accepted the message). Every body also names the `node`.
 */

/** Renders a payload as the config says: plain UTF-8 text, or base64 (for binary payloads). */
export function encodePayload(payload, encoding) {
  return encoding === 'base64' ? payload.toString('base64') : payload.toString('utf8');
}

const user = (u) => (u === undefined ? null : u);

export function clientConnected(client, conn) {
  return {
    action: 'client_connected',
    node: client.node,
    clientid: client.clientid,
    username: user(client.username),
    ipaddress: conn.peerhost,
    keepalive: conn.keepalive,
    proto_ver: conn.proto_ver,
    connected_at: Math.floor(conn.connected_at / 1000),
    conn_ack: 0,
  };
}

export function clientDisconnected(client, reason) {
  return {
    action: 'client_disconnected',
    node: client.node,
    clientid: client.clientid,
    username: user(client.username),
    reason,
    disconnected_at: Math.floor(Date.now() / 1000),
  };
}

/** client_subscribe, client_unsubscribe, session_subscribed, session_unsubscribed: one body per filter. */
export function topicEvent(action, client, topic, opts) {
  const body = {
    action,
    node: client.node,
    clientid: client.clientid,
    username: user(client.username),
    topic,
  };
  if (opts !== undefined) body.opts = { qos: opts.qos };
  return body;
}

/** message_publish and message_dropped (with the reason); message_delivered/acked add the receiver. */
export function messageEvent(action, msg, encoding, extra) {
  const from = msg.from;
  return {
    action,
    node: extra.node,
    ...(extra.client === undefined
      ? {}
      : { clientid: extra.client.clientid, username: user(extra.client.username) }),
    from_client_id: from,
    from_username: user(msg.headers.username),
    id: msg.id,
    topic: msg.topic,
    qos: msg.qos,
    retain: msg.flags.retain,
    payload: encodePayload(msg.payload, encoding),
    payload_encoding: encoding,
    ts: msg.timestamp,
    ...(extra.reason === undefined ? {} : { reason: extra.reason }),
  };
}
