/** Every page route (inside the layout), core pages first. */
import type { RouteRecordRaw } from 'vue-router';
import { coreRoutes } from './core';
import { extensionRoutes } from './extensions';

export const pageRoutes: RouteRecordRaw[] = [...coreRoutes, ...extensionRoutes];
