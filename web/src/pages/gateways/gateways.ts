/** What the gateway pages read from /api/v5/gateways and /gateway_registry, and the calls they make. */
import { api, seg } from '../../api/client';
import type { JsonSchema, Model } from '../../components/schema/schema';

export interface GatewayOverview {
  name: string;
  status: 'running' | 'stopped' | 'unloaded';
  current_connections?: number;
  max_connections?: number | 'infinity';
  listeners?: { id: string; type: string; name: string; running: boolean }[];
  created_at?: string;
  started_at?: string;
}

export interface RegistryEntry {
  name: string;
  protocol: string;
  description: string;
  listener_types: string[];
  loaded: boolean;
}

export interface AuthnChoice {
  id: string;
  mechanism: string;
  backend?: string;
  schema: JsonSchema;
}

export interface GatewaySchema {
  name: string;
  protocol: string;
  description: string;
  listener_types: string[];
  schema: JsonSchema;
  authentication: AuthnChoice[];
}

/** A listener in API form: `{id, type, name, ...config}` (the API ignores the view fields sent back). */
export type Listener = Model & { id?: string; type: string; name: string };

/** Top-level keys edited on their own tabs/steps, not in the basic form. */
export const NOT_BASIC = ['listeners', 'authentication', 'enable'];

export const gatewayApi = {
  list: () => api.get<GatewayOverview[]>('/gateways'),
  registry: () => api.get<RegistryEntry[]>('/gateway_registry'),
  schema: (name: string) => api.get<GatewaySchema>(`/gateway_registry/${seg(name)}/schema`),
  get: (name: string) => api.get<Model & GatewayOverview>(`/gateways/${seg(name)}`),
  put: (name: string, body: Model) => api.put<void>(`/gateways/${seg(name)}`, body),
  enable: (name: string, on: boolean) => api.put<void>(`/gateways/${seg(name)}/enable/${on}`),
  listeners: (name: string) => api.get<Listener[]>(`/gateways/${seg(name)}/listeners`),
  addListener: (name: string, l: Listener) => api.post<Listener>(`/gateways/${seg(name)}/listeners`, l),
  putListener: (name: string, id: string, l: Model) =>
    api.put<Listener>(`/gateways/${seg(name)}/listeners/${seg(id)}`, l),
  delListener: (name: string, id: string) => api.del(`/gateways/${seg(name)}/listeners/${seg(id)}`),
  authn: (name: string) => api.get<Model | undefined>(`/gateways/${seg(name)}/authentication`),
  addAuthn: (name: string, conf: Model) => api.post<Model>(`/gateways/${seg(name)}/authentication`, conf),
  putAuthn: (name: string, conf: Model) => api.put<Model>(`/gateways/${seg(name)}/authentication`, conf),
  delAuthn: (name: string) => api.del(`/gateways/${seg(name)}/authentication`),
  kick: (name: string, clientid: string) => api.del(`/gateways/${seg(name)}/clients/${seg(clientid)}`),
};

/** The authenticator id of a config ('password_based:http', 'jwt'). */
export function authnIdOf(conf: Model): string {
  return typeof conf.backend === 'string'
    ? `${String(conf.mechanism)}:${conf.backend}`
    : String(conf.mechanism);
}
