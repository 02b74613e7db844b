/**
 * web_hook: posts client, session and message events to an HTTP endpoint as EMQX 4.x's web hook does.
 * Hook callbacks only build a body and queue it (see sender.js), so a slow or dead endpoint never holds up
 * connecting, subscribing or message delivery. Built only on the plugin API.
 */
import { clientConnected, clientDisconnected, messageEvent, topicEvent } from './bodies.js';
import { normalizeConfig } from './config.js';
import { Sender } from './sender.js';
import { topicPredicate } from './topic.js';

let api;
let sender;
/** Unregisters the hooks of the running config. */
let unhook = [];
/** Senders of replaced configs still sending what they hold; stopped with the plugin. */
const draining = new Set();

/** For each event, one predicate over topics: true when any rule of that event keeps the topic. */
function rulesByEvent(rules) {
  const byEvent = new Map();
  for (const rule of rules) {
    const keep = topicPredicate(rule.topics);
    const prev = byEvent.get(rule.event);
    byEvent.set(rule.event, prev === undefined ? keep : (t) => prev(t) || keep(t));
  }
  return byEvent;
}

/** Registers one hook per configured event; each queues its bodies and returns at once. Returns the offs. */
function register(api, conf, out) {
  const enc = conf.encoding_of_payload_field;
  const node = api.node.name;
  const on = rulesByEvent(conf.rules);
  const offs = [];
  const rule = (event, fn) => {
    const keep = on.get(event);
    if (keep !== undefined) offs.push(fn(keep));
  };
  rule('client.connected', () =>
    api.hook('client.connected', (client, conn) => void out.push(clientConnected(client, conn))),
  );
  rule('client.disconnected', () =>
    api.hook('client.disconnected', (client, reason) => void out.push(clientDisconnected(client, reason))),
  );
  for (const [event, action] of [
    ['client.subscribe', 'client_subscribe'],
    ['client.unsubscribe', 'client_unsubscribe'],
  ]) {
    rule(event, (keep) =>
      api.hook(event, (client, _props, filters) => {
        for (const f of filters)
          if (keep(f.topic))
            out.push(topicEvent(action, client, f.topic, event === 'client.subscribe' ? f.opts : undefined));
        return undefined;
      }),
    );
  }
  rule('session.subscribed', (keep) =>
    api.hook('session.subscribed', (client, topic, opts) => {
      if (keep(topic)) out.push(topicEvent('session_subscribed', client, topic, opts));
    }),
  );
  rule('session.unsubscribed', (keep) =>
    api.hook('session.unsubscribed', (client, topic) => {
      if (keep(topic)) out.push(topicEvent('session_unsubscribed', client, topic, undefined));
    }),
  );
  // As EMQX, the broker's own $SYS messages are not posted.
  const wanted = (keep, msg) => !msg.topic.startsWith('$SYS/') && keep(msg.topic);
  rule('message.publish', (keep) =>
    // Low priority: the body shows the message as the other publish hooks left it.
    api.hook(
      'message.publish',
      (msg) => {
        if (msg.headers.allow_publish !== false && wanted(keep, msg))
          out.push(messageEvent('message_publish', msg, enc, { node }));
        return undefined;
      },
      -900,
    ),
  );
  rule('message.delivered', (keep) =>
    api.hook('message.delivered', (client, msg) => {
      if (wanted(keep, msg)) out.push(messageEvent('message_delivered', msg, enc, { node, client }));
      return undefined;
    }),
  );
  rule('message.acked', (keep) =>
    api.hook('message.acked', (client, msg) => {
      if (wanted(keep, msg)) out.push(messageEvent('message_acked', msg, enc, { node, client }));
    }),
  );
  rule('message.dropped', (keep) =>
    api.hook('message.dropped', (msg, _ctx, reason) => {
      if (wanted(keep, msg)) out.push(messageEvent('message_dropped', msg, enc, { node, reason }));
    }),
  );
  return offs;
}

/** Starts posting with `conf`: a new sender, and the hooks its rules need. */
function run(conf) {
  sender = new Sender(api, conf);
  unhook = register(api, conf, sender);
  api.log.info({ url: conf.url, rules: conf.rules.length }, 'web hook: posting events');
}

export default {
  start(a) {
    api = a;
    run(normalizeConfig(a.config()));
  },
  stop() {
    sender?.stop();
    for (const d of draining) d.stop();
    draining.clear();
    sender = undefined;
    unhook = [];
    api = undefined;
  },
  onConfigChanged(_old, next) {
    // A config the plugin could not start with is refused; a running plugin switches to the new one at
    // once: new events go by the new rules, what the old sender still holds is sent (or dropped) by it.
    const conf = normalizeConfig(next);
    if (sender === undefined) return;
    for (const off of unhook) off();
    const old = sender;
    run(conf);
    draining.add(old);
    old.drain(() => draining.delete(old));
  },
  healthCheck() {
    return undefined;
  },
};
