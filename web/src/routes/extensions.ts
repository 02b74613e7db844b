/** Routes of the Extensions pages (seed 000): Gateways, ExHook, Plugins. */
import { Connection, Link, Suitcase } from '@element-plus/icons-vue';
import type { RouteRecordRaw } from 'vue-router';

export const extensionRoutes: RouteRecordRaw[] = [
  {
    path: '/gateways',
    name: 'gateways',
    component: () => import('../pages/gateways/GatewayList.vue'),
    meta: { title: 'ext.menu.gateways', menu: 'extensions', order: 1, icon: Connection },
  },
  {
    path: '/exhook',
    name: 'exhook',
    component: () => import('../pages/exhook/ExhookList.vue'),
    meta: { title: 'ext.menu.exhook', menu: 'extensions', order: 2, icon: Link },
  },
  {
    path: '/plugins',
    name: 'plugins',
    component: () => import('../pages/plugins/PluginList.vue'),
    meta: { title: 'ext.menu.plugins', menu: 'extensions', order: 3, icon: Suitcase },
  },
];
