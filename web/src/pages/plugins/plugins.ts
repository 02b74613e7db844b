/** What the plugin pages read from /api/v5/plugins, and the calls they make. */
import { api, seg } from '../../api/client';
import type { JsonSchema, Model } from '../../components/schema/schema';

export interface Plugin {
  name: string;
  rel_vsn: string;
  description?: string;
  authors?: unknown;
  builder?: { name?: string; contact?: string; website?: string } | unknown;
  repo?: string;
  website?: string;
  functionality?: unknown;
  compatibility?: Record<string, unknown>;
  running_status: { node: string; status: 'running' | 'stopped' }[];
  config_status?: string;
  readme?: string;
  [k: string]: unknown;
}

export const nameVsn = (p: Plugin): string => `${p.name}-${p.rel_vsn}`;
export const isRunning = (p: Plugin): boolean => p.running_status.some((s) => s.status === 'running');

/** `authors` is a list or a string in release.json. */
export function authorsOf(p: Plugin): string {
  const a = p.authors;
  if (Array.isArray(a)) return a.map(String).join(', ');
  return a === undefined || a === null ? '' : String(a);
}

/** The developer's site, for Read More: builder.website, else a top-level website. */
export function websiteOf(p: Plugin): string | undefined {
  const b = p.builder as { website?: unknown } | undefined;
  const site = typeof b?.website === 'string' && b.website !== '' ? b.website : p.website;
  // Only web links: a javascript: URL in a package must not become a clickable button.
  return typeof site === 'string' && /^https?:\/\//i.test(site) ? site : undefined;
}

export const pluginApi = {
  list: () => api.get<Plugin[]>('/plugins'),
  get: (id: string) => api.get<Plugin>(`/plugins/${seg(id)}`),
  install: (file: File) => {
    const form = new FormData();
    form.append('plugin', file, file.name);
    return api.upload<void>('/plugins/install', form);
  },
  start: (id: string) => api.put<void>(`/plugins/${seg(id)}/start`),
  stop: (id: string) => api.put<void>(`/plugins/${seg(id)}/stop`),
  uninstall: (id: string) => api.del(`/plugins/${seg(id)}`),
  move: (id: string, position: string) => api.post<void>(`/plugins/${seg(id)}/move`, { position }),
  config: (id: string) => api.get<Model>(`/plugins/${seg(id)}/config`),
  putConfig: (id: string, conf: Model) => api.put<void>(`/plugins/${seg(id)}/config`, conf),
  schema: (id: string) => api.get<{ avsc: JsonSchema | null; i18n: unknown }>(`/plugins/${seg(id)}/schema`),
};
