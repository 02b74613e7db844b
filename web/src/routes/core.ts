/** Routes of the core pages (Overview, Clients, Subscriptions, …): see ./meta.ts for the menu fields. */
import {
  Bell,
  ChatLineSquare,
  CircleClose,
  Collection,
  Key,
  Lock,
  Monitor,
  Odometer,
  Position,
  Setting,
  Share,
  Tickets,
  User,
  UserFilled,
} from '@element-plus/icons-vue';
import type { RouteRecordRaw } from 'vue-router';

export const coreRoutes: RouteRecordRaw[] = [
  {
    path: '/overview',
    name: 'overview',
    component: () => import('../pages/overview/OverviewPage.vue'),
    meta: { title: 'core.menu.overview', menu: 'monitoring', order: 1, icon: Odometer },
  },
  {
    path: '/clients',
    name: 'clients',
    component: () => import('../pages/clients/ClientList.vue'),
    meta: { title: 'core.menu.clients', menu: 'monitoring', order: 2, icon: Monitor },
  },
  {
    path: '/clients/:clientid',
    name: 'client',
    component: () => import('../pages/clients/ClientDetail.vue'),
    meta: { title: 'core.menu.clients', activeMenu: '/clients' },
  },
  {
    path: '/subscriptions',
    name: 'subscriptions',
    component: () => import('../pages/subscriptions/SubscriptionList.vue'),
    meta: { title: 'core.menu.subscriptions', menu: 'monitoring', order: 3, icon: Collection },
  },
  {
    path: '/topics',
    name: 'topics',
    component: () => import('../pages/topics/TopicList.vue'),
    meta: { title: 'core.menu.topics', menu: 'monitoring', order: 4, icon: Share },
  },
  {
    path: '/retained',
    name: 'retained',
    component: () => import('../pages/retained/RetainedList.vue'),
    meta: { title: 'core.menu.retained', menu: 'monitoring', order: 5, icon: Tickets },
  },
  {
    path: '/alarms',
    name: 'alarms',
    component: () => import('../pages/alarms/AlarmList.vue'),
    meta: { title: 'core.menu.alarms', menu: 'monitoring', order: 6, icon: Bell },
  },
  {
    path: '/authentication',
    name: 'authentication',
    component: () => import('../pages/access/AuthnList.vue'),
    meta: { title: 'core.menu.authentication', menu: 'access', order: 1, icon: UserFilled },
  },
  {
    path: '/authentication/:id/users',
    name: 'authentication-users',
    component: () => import('../pages/access/AuthnUsers.vue'),
    meta: { title: 'core.menu.authentication', activeMenu: '/authentication' },
  },
  {
    path: '/authorization',
    name: 'authorization',
    component: () => import('../pages/access/AuthzPage.vue'),
    meta: { title: 'core.menu.authorization', menu: 'access', order: 2, icon: Lock },
  },
  {
    path: '/banned',
    name: 'banned',
    component: () => import('../pages/banned/BannedList.vue'),
    meta: { title: 'core.menu.banned', menu: 'access', order: 3, icon: CircleClose },
  },
  {
    path: '/listeners',
    name: 'listeners',
    component: () => import('../pages/listeners/ListenerList.vue'),
    meta: { title: 'core.menu.listeners', menu: 'management', order: 1, icon: Position },
  },
  {
    path: '/settings',
    name: 'settings',
    component: () => import('../pages/settings/SettingsPage.vue'),
    meta: { title: 'core.menu.settings', menu: 'management', order: 2, icon: Setting },
  },
  {
    path: '/websocket',
    name: 'websocket',
    component: () => import('../pages/websocket/WebSocketClient.vue'),
    meta: { title: 'core.menu.websocket', menu: 'management', order: 3, icon: ChatLineSquare },
  },
  {
    path: '/users',
    name: 'users',
    component: () => import('../pages/users/UserList.vue'),
    meta: { title: 'core.menu.users', menu: 'system', order: 1, icon: User },
  },
  {
    path: '/api-keys',
    name: 'api-keys',
    component: () => import('../pages/apikeys/ApiKeyList.vue'),
    meta: { title: 'core.menu.apiKeys', menu: 'system', order: 2, icon: Key },
  },
];
