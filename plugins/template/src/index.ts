/**
 * The template plugin: logs and counts the hooks of EMQX's plugin template, authenticates a demo user,
 * denies publishing to one topic filter, and adds `hermod ctl cmd arg1 arg2` (prints ok).
 */
import type { HermodPlugin, PluginApi } from 'hermod';

interface Config {
  demo_user: string;
  demo_password: string;
  deny_topic: string;
  log_hooks?: boolean;
}

/** MQTT topic filter match, enough for the demo ACL. */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

let api: PluginApi | undefined;

const plugin: HermodPlugin = {
  start(a) {
    api = a;
    const conf = () => a.config() as unknown as Config;
    a.log.info('starting');
    const logged = (hook: string, facts: Record<string, unknown>) => {
      a.metrics.inc(hook.replace('.', '_'));
      if (conf().log_hooks !== false) a.log.info(facts, hook);
    };
    // The hooks of EMQX's plugin template: each is logged and counted.
    a.hook('client.connected', (client) => void logged('client.connected', { clientid: client.clientid }));
    a.hook('client.disconnected', (client, reason) =>
      void logged('client.disconnected', { clientid: client.clientid, reason }),
    );
    a.hook('client.subscribe', (client, _props, filters) =>
      void logged('client.subscribe', { clientid: client.clientid, topics: filters.map((f) => f.topic) }),
    );
    a.hook('session.subscribed', (client, topic) =>
      void logged('session.subscribed', { clientid: client.clientid, topic }),
    );
    a.hook('client.unsubscribe', (client, _props, filters) =>
      void logged('client.unsubscribe', { clientid: client.clientid, topics: filters.map((f) => f.topic) }),
    );
    a.hook('session.unsubscribed', (client, topic) =>
      void logged('session.unsubscribed', { clientid: client.clientid, topic }),
    );
    a.hook('message.publish', (msg) => void logged('message.publish', { topic: msg.topic }));
    a.hook('message.delivered', (client, msg) =>
      void logged('message.delivered', { clientid: client.clientid, topic: msg.topic }),
    );
    a.hook('message.acked', (client, msg) =>
      void logged('message.acked', { clientid: client.clientid, topic: msg.topic }),
    );
    // Demo authenticator: decides for its own user only, leaves every other client to the chain.
    a.hook(
      'client.authenticate',
      (cred, acc) => {
        if (cred.username !== conf().demo_user) return { ok: acc };
        const good = cred.password?.toString() === conf().demo_password;
        return { stop: good ? { kind: 'ok' } : { kind: 'error', reason: 'bad_username_or_password' } };
      },
      980,
    );
    // Demo ACL check: nobody publishes to deny_topic.
    a.hook(
      'client.authorize',
      (_client, action, topic, acc) => {
        if (action.action_type === 'publish' && matches(conf().deny_topic, topic))
          return { stop: { result: 'deny', from: 'template' } };
        return { ok: acc };
      },
      970,
    );
    // hermod ctl cmd arg1 arg2 → ok
    a.ctl('cmd', {
      usage: ['cmd arg1 arg2   # cmd demo'],
      run: (args) => {
        if (args.length === 2 && args[0] === 'arg1' && args[1] === 'arg2') return 'ok';
        throw new Error('usage: cmd arg1 arg2');
      },
    });
  },
  stop() {
    api?.log.info('stopping');
    api = undefined;
  },
  onConfigChanged(_old, next) {
    if (typeof next.deny_topic === 'string' && next.deny_topic.startsWith('$')) throw new Error('deny_topic may not be a $ topic');
  },
  healthCheck() {
    return api === undefined ? 'not started' : undefined;
  },
};

export default plugin;
