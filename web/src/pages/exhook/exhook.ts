/** What the ExHook pages read from /api/v5/exhooks, and the calls they make. */
import { api, seg } from '../../api/client';

export interface HookMetrics {
  succeed: number;
  failed: number;
  rate: number;
  max_rate: number;
}

export interface ExhookSsl {
  enable: boolean;
  cacertfile?: string;
  certfile?: string;
  keyfile?: string;
  password?: string;
  verify?: string;
  server_name_indication?: string;
  [k: string]: unknown;
}

/** The config part of a server (what POST/PUT take). */
export interface ExhookConfig {
  name: string;
  enable: boolean;
  url: string;
  request_timeout: string;
  failed_action: 'deny' | 'ignore';
  auto_reconnect: string | false;
  pool_size: number;
  ssl: ExhookSsl;
  [k: string]: unknown;
}

export interface ExhookServer extends ExhookConfig {
  metrics: HookMetrics;
  node_status: { node: string; status: string }[];
  hooks: { name: string; params: { topics: string[] } }[];
}

export interface RegisteredHook {
  name: string;
  params: { topics: string[] };
  metrics: HookMetrics;
}

const READ_ONLY = ['metrics', 'node_metrics', 'node_status', 'hooks', 'status'];

/** A server's config without the read-only views GET adds. */
export function configOf(s: ExhookServer | ExhookConfig): ExhookConfig {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) if (!READ_ONLY.includes(k)) out[k] = v;
  return out as ExhookConfig;
}

export const NEW_SERVER: ExhookConfig = {
  name: '',
  enable: true,
  url: 'http://127.0.0.1:9000',
  request_timeout: '5s',
  failed_action: 'deny',
  auto_reconnect: '60s',
  pool_size: 8,
  ssl: {
    enable: false,
    verify: 'verify_peer',
    cacertfile: '',
    certfile: '',
    keyfile: '',
    server_name_indication: '',
  },
};

export const exhookApi = {
  list: () => api.get<ExhookServer[]>('/exhooks'),
  get: (name: string) => api.get<ExhookServer>(`/exhooks/${seg(name)}`),
  hooks: (name: string) => api.get<RegisteredHook[]>(`/exhooks/${seg(name)}/hooks`),
  create: (c: ExhookConfig) => api.post<ExhookServer>('/exhooks', c),
  update: (name: string, c: ExhookConfig) => api.put<ExhookServer>(`/exhooks/${seg(name)}`, c),
  remove: (name: string) => api.del(`/exhooks/${seg(name)}`),
};

export function statusOf(s: ExhookServer): string {
  return s.node_status[0]?.status ?? (s.enable ? 'unknown' : 'disabled');
}
