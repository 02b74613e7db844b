/** The side menu, built from the page routes' meta: groups in MENU_GROUPS order, entries by `order`. */
import type { Component } from 'vue';
import type { RouteRecordRaw } from 'vue-router';
import { MENU_GROUPS, type MenuGroup } from '../routes/meta';

export interface MenuEntry {
  path: string;
  title: string;
  icon: Component | undefined;
}

export interface MenuSection {
  group: MenuGroup;
  entries: MenuEntry[];
}

export function buildMenu(routes: readonly RouteRecordRaw[]): MenuSection[] {
  const sections: MenuSection[] = [];
  for (const group of MENU_GROUPS) {
    const entries = routes
      .filter((r) => r.meta?.menu === group && r.meta.title !== undefined)
      .sort((a, b) => (a.meta?.order ?? 0) - (b.meta?.order ?? 0))
      .map((r) => ({ path: r.path, title: r.meta!.title!, icon: r.meta?.icon }));
    if (entries.length > 0) sections.push({ group, entries });
  }
  return sections;
}
