/** Routes of the core pages (Overview, Clients, Subscriptions, …): see ./meta.ts for the menu fields. */
import type { RouteRecordRaw } from 'vue-router';

export const coreRoutes: RouteRecordRaw[] = [];
