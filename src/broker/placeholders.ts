/**
 * `${name}` placeholders in config templates (mountpoints, clientinfo_override, ACL topics). A placeholder
 * with no value is left as written, as EMQX does for mountpoints.
 */
import type { ClientInfo } from './types.js';

const PLACEHOLDER = /\$\{([A-Za-z0-9_.]+)\}/g;

/** Replaces `${key}` using `lookup`; unknown keys stay literal. */
export function renderTemplate(template: string, lookup: (key: string) => string | undefined): string {
  if (!template.includes('${')) return template;
  return template.replace(PLACEHOLDER, (whole, key: string) => lookup(key) ?? whole);
}

/** Values a client's placeholders resolve to: clientid, username, zone, cert fields, client_attrs.X, extras. */
export function clientLookup(ci: ClientInfo): (key: string) => string | undefined {
  return (key) => {
    switch (key) {
      case 'clientid':
        return ci.clientid;
      case 'username':
        return ci.username;
      case 'zone':
        return ci.zone;
      case 'peerhost':
        return ci.peerhost;
      case 'cert_common_name':
        return ci.cn;
      case 'cert_subject':
        return ci.dn;
      default:
        if (key.startsWith('client_attrs.')) return ci.client_attrs[key.slice(13)];
        return typeof ci[key] === 'string' ? (ci[key] as string) : undefined;
    }
  };
}
