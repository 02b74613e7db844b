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
    path: '/gateways/:name/setup',
    name: 'gateway-setup',
    component: () => import('../pages/gateways/GatewaySetup.vue'),
    meta: { title: 'ext.gateways.setup', activeMenu: '/gateways' },
  },
  {
    path: '/gateways/:name/settings',
    name: 'gateway-settings',
    component: () => import('../pages/gateways/GatewaySettings.vue'),
    meta: { title: 'ext.gateways.settings', activeMenu: '/gateways' },
  },
  {
    path: '/gateways/:name/clients',
    name: 'gateway-clients',
    component: () => import('../pages/gateways/GatewayClients.vue'),
    meta: { title: 'ext.gateways.clients', activeMenu: '/gateways' },
  },
  {
    path: '/exhook',
    name: 'exhook',
    component: () => import('../pages/exhook/ExhookList.vue'),
    meta: { title: 'ext.menu.exhook', menu: 'extensions', order: 2, icon: Link },
  },
  {
    path: '/exhook/add',
    name: 'exhook-add',
    component: () => import('../pages/exhook/ExhookAdd.vue'),
    meta: { title: 'ext.exhook.addTitle', activeMenu: '/exhook' },
  },
  {
    path: '/exhook/:name',
    name: 'exhook-detail',
    component: () => import('../pages/exhook/ExhookDetail.vue'),
    meta: { title: 'ext.menu.exhook', activeMenu: '/exhook' },
  },
  {
    path: '/plugins',
    name: 'plugins',
    component: () => import('../pages/plugins/PluginList.vue'),
    meta: { title: 'ext.menu.plugins', menu: 'extensions', order: 3, icon: Suitcase },
  },
  {
    path: '/plugins/install',
    name: 'plugin-install',
    component: () => import('../pages/plugins/PluginInstall.vue'),
    meta: { title: 'ext.plugins.install', activeMenu: '/plugins' },
  },
  {
    path: '/plugins/:name',
    name: 'plugin-detail',
    component: () => import('../pages/plugins/PluginDetail.vue'),
    meta: { title: 'ext.menu.plugins', activeMenu: '/plugins' },
  },
];
