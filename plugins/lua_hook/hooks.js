/**
 * The Lua hook functions EMQX 4.x's lua hook knows, each mapped onto a Hermod hook point: which arguments
 * the Lua function gets and what its results mean. Every handler runs the scripts that registered the
 * function in load order. `call(script, fn, args)` returns the results, or undefined when the call failed
 * (already counted and logged): a failing script is skipped, as if it had not answered.
 *
 * As in EMQX, topics starting with `$` are not shown to scripts (publish, deliver, ack, subscriptions).
 */

/** Lua strings arrive as Buffers; a missing username is passed as "" (EMQX 4.x did the same). */
const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : undefined);
const user = (u) => u ?? '';
const isSys = (topic) => topic.startsWith('$');

/** A topic a script may publish to: not empty, no wildcard, no NUL. */
const publishable = (t) =>
  t !== undefined && t !== '' && !t.includes('+') && !t.includes('#') && !t.includes('\0');

/** The message as rewritten by `topic, payload, qos, retain` results, or undefined when they are not that. */
function rewritten(msg, r) {
  const topic = text(r[0]);
  if (!publishable(topic) || !Buffer.isBuffer(r[1])) return undefined;
  const qos = r[2] === 0 || r[2] === 1 || r[2] === 2 ? r[2] : msg.qos;
  const retain = typeof r[3] === 'boolean' ? r[3] : msg.flags.retain;
  if (topic === msg.topic && qos === msg.qos && retain === msg.flags.retain && r[1].equals(msg.payload))
    return msg;
  return msg.withChanges({ topic, payload: r[1], qos, retain });
}

const messageArgs = (clientid, username, msg) => [
  clientid,
  user(username),
  msg.topic,
  msg.payload,
  msg.qos,
  msg.flags.retain,
];

/** Rewrites or cancels each topic filter (client.subscribe / client.unsubscribe folds). */
function filterFold(fn) {
  return (scripts, call) => (client, _props, filters) => {
    let changed = false;
    const kept = [];
    for (const f of filters) {
      let topic = f.topic;
      let cancelled = false;
      if (!isSys(topic)) {
        for (const s of scripts) {
          const r = call(s, fn, [client.clientid, user(client.username), topic]);
          if (r === undefined) continue;
          if (r[0] === false) {
            cancelled = true;
            break;
          }
          const t = text(r[0]);
          if (t !== undefined && t !== '') topic = t;
        }
      }
      if (cancelled || topic !== f.topic) changed = true;
      if (!cancelled) kept.push(topic === f.topic ? f : { ...f, topic });
    }
    return changed ? { ok: kept } : undefined;
  };
}

/** A notification: every script's function is called, its results ignored. */
function notify(fn, args) {
  return (scripts, call) =>
    (...hookArgs) => {
      const a = args(...hookArgs);
      if (a === undefined) return undefined;
      for (const s of scripts) call(s, fn, a);
      return undefined;
    };
}

/**
 * Lua function name → { point, priority, handler(scripts, call) → hook callback }. Authentication and ACL
 * run just above the built-in chains (970/960), so a script that answers decides and one that says
 * "ignore" leaves the client to them, as the Lua hook ran before EMQX 4.x's internal ACL.
 */
export const LUA_HOOKS = {
  on_message_publish: {
    point: 'message.publish',
    priority: 0,
    handler: (scripts, call) => (msg) => {
      if (isSys(msg.topic) || msg.headers.allow_publish === false) return undefined;
      let cur = msg;
      for (const s of scripts) {
        const r = call(s, 'on_message_publish', messageArgs(cur.from, cur.headers.username, cur));
        if (r === undefined || r.length === 0) continue;
        if (r[0] === false) {
          const dropped = cur.withChanges({});
          dropped.headers.allow_publish = false;
          return { stop: dropped };
        }
        cur = rewritten(cur, r) ?? cur;
      }
      return cur === msg ? undefined : { ok: cur };
    },
  },
  on_message_delivered: {
    point: 'message.delivered',
    priority: 0,
    handler: (scripts, call) => (client, msg) => {
      if (isSys(msg.topic)) return undefined;
      let cur = msg;
      for (const s of scripts) {
        const r = call(s, 'on_message_delivered', messageArgs(client.clientid, client.username, cur));
        if (r !== undefined && r.length >= 2) cur = rewritten(cur, r) ?? cur;
      }
      return cur === msg ? undefined : { ok: cur };
    },
  },
  on_message_acked: {
    point: 'message.acked',
    priority: 0,
    handler: notify('on_message_acked', (client, msg) =>
      isSys(msg.topic) ? undefined : messageArgs(client.clientid, client.username, msg),
    ),
  },
  on_client_connected: {
    point: 'client.connected',
    priority: 0,
    // The 0 is the CONNACK return code the 4.x documentation names (always success here).
    handler: notify('on_client_connected', (client) => [client.clientid, user(client.username), 0]),
  },
  on_client_disconnected: {
    point: 'client.disconnected',
    priority: 0,
    handler: notify('on_client_disconnected', (client, reason) => [
      client.clientid,
      user(client.username),
      String(reason),
    ]),
  },
  on_client_subscribe: {
    point: 'client.subscribe',
    priority: 0,
    handler: filterFold('on_client_subscribe'),
  },
  on_client_unsubscribe: {
    point: 'client.unsubscribe',
    priority: 0,
    handler: filterFold('on_client_unsubscribe'),
  },
  on_session_subscribed: {
    point: 'session.subscribed',
    priority: 0,
    handler: notify('on_session_subscribed', (client, topic) =>
      isSys(topic) ? undefined : [client.clientid, user(client.username), topic],
    ),
  },
  on_session_unsubscribed: {
    point: 'session.unsubscribed',
    priority: 0,
    handler: notify('on_session_unsubscribed', (client, topic) =>
      isSys(topic) ? undefined : [client.clientid, user(client.username), topic],
    ),
  },
  on_client_authenticate: {
    point: 'client.authenticate',
    priority: 971,
    handler: (scripts, call) => (cred) => {
      for (const s of scripts) {
        const r = call(s, 'on_client_authenticate', [
          cred.clientid,
          user(cred.username),
          cred.peerhost,
          cred.password ?? '',
        ]);
        const answer = r === undefined ? undefined : text(r[0]);
        if (answer === 'ok') return { stop: { kind: 'ok' } };
        // Hermod addition: "deny" refuses the client (4.x knew only ok and ignore).
        if (answer === 'deny') return { stop: { kind: 'error', reason: 'not_authorized' } };
      }
      return undefined;
    },
  },
  on_client_check_acl: {
    point: 'client.authorize',
    priority: 961,
    handler: (scripts, call) => (client, action, topic) => {
      for (const s of scripts) {
        const r = call(s, 'on_client_check_acl', [
          client.clientid,
          user(client.username),
          client.peerhost,
          '',
          topic,
          action.action_type,
        ]);
        const answer = r === undefined ? undefined : text(r[0]);
        if (answer === 'allow' || answer === 'deny') return { stop: { result: answer, from: 'lua_hook' } };
      }
      return undefined;
    },
  },
};
