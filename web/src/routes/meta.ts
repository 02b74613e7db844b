/**
 * What a route tells the shell: its menu entry (group, title key, icon, order) and whether it needs a login.
 * The side menu is built from these, so a page appears in the menu by declaring its route and nothing else.
 */
import type { Component } from 'vue';
import 'vue-router';

/** Menu groups, in the order the side menu shows them. */
export const MENU_GROUPS = ['monitoring', 'access', 'management', 'extensions', 'system'] as const;
export type MenuGroup = (typeof MENU_GROUPS)[number];

declare module 'vue-router' {
  interface RouteMeta {
    /** i18n key of the page title (menu entry and document title). */
    title?: string;
    /** Menu group; routes without one are reachable by URL only (details, wizards). */
    menu?: MenuGroup;
    /** Position inside the group (lower first). */
    order?: number;
    icon?: Component;
    /** Menu entry to highlight for a nested page, e.g. '/gateways' for '/gateways/stomp/clients'. */
    activeMenu?: string;
    /** Reachable without a login (the login page). */
    public?: boolean;
  }
}
