/**
 * The Element Plus components the dashboard uses, registered one by one instead of `app.use(ElementPlus)`,
 * so the bundle carries only these (and their CSS) rather than the whole library. A component new to a
 * template must be added here, or it stays an unknown <el-*> tag (the production build does not warn); the
 * browser tests' screenshots fail on such a tag. Parents register their parts (ElTable → el-table-column,
 * ElSelect → el-option, ...).
 */
import {
  ElAlert,
  ElButton,
  ElCard,
  ElCheckbox,
  ElContainer,
  ElDatePicker,
  ElDescriptions,
  ElDialog,
  ElDrawer,
  ElDropdown,
  ElEmpty,
  ElForm,
  ElIcon,
  ElInput,
  ElInputNumber,
  ElLoading,
  ElMenu,
  ElPagination,
  ElRadio,
  ElResult,
  ElSelect,
  ElStatistic,
  ElSteps,
  ElSwitch,
  ElTable,
  ElTabs,
  ElTag,
  ElUpload,
} from 'element-plus';
import type { App, Plugin } from 'vue';
import 'element-plus/es/components/base/style/css';
import 'element-plus/es/components/alert/style/css';
import 'element-plus/es/components/aside/style/css';
import 'element-plus/es/components/button/style/css';
import 'element-plus/es/components/card/style/css';
import 'element-plus/es/components/checkbox/style/css';
import 'element-plus/es/components/container/style/css';
import 'element-plus/es/components/date-picker/style/css';
import 'element-plus/es/components/descriptions/style/css';
import 'element-plus/es/components/descriptions-item/style/css';
import 'element-plus/es/components/dialog/style/css';
import 'element-plus/es/components/drawer/style/css';
import 'element-plus/es/components/dropdown/style/css';
import 'element-plus/es/components/dropdown-item/style/css';
import 'element-plus/es/components/dropdown-menu/style/css';
import 'element-plus/es/components/empty/style/css';
import 'element-plus/es/components/form/style/css';
import 'element-plus/es/components/form-item/style/css';
import 'element-plus/es/components/header/style/css';
import 'element-plus/es/components/icon/style/css';
import 'element-plus/es/components/input/style/css';
import 'element-plus/es/components/input-number/style/css';
import 'element-plus/es/components/loading/style/css';
import 'element-plus/es/components/main/style/css';
import 'element-plus/es/components/menu/style/css';
import 'element-plus/es/components/menu-item/style/css';
import 'element-plus/es/components/menu-item-group/style/css';
// ElMessage and ElMessageBox are imported where they are used; their CSS is not, so it comes from here.
import 'element-plus/es/components/message/style/css';
import 'element-plus/es/components/message-box/style/css';
import 'element-plus/es/components/option/style/css';
import 'element-plus/es/components/pagination/style/css';
import 'element-plus/es/components/radio/style/css';
import 'element-plus/es/components/radio-button/style/css';
import 'element-plus/es/components/radio-group/style/css';
import 'element-plus/es/components/result/style/css';
import 'element-plus/es/components/select/style/css';
import 'element-plus/es/components/statistic/style/css';
import 'element-plus/es/components/step/style/css';
import 'element-plus/es/components/steps/style/css';
import 'element-plus/es/components/switch/style/css';
import 'element-plus/es/components/tab-pane/style/css';
import 'element-plus/es/components/table/style/css';
import 'element-plus/es/components/table-column/style/css';
import 'element-plus/es/components/tabs/style/css';
import 'element-plus/es/components/tag/style/css';
import 'element-plus/es/components/upload/style/css';

const PLUGINS: Plugin[] = [
  ElAlert,
  ElButton,
  ElCard,
  ElCheckbox,
  ElContainer,
  ElDatePicker,
  ElDescriptions,
  ElDialog,
  ElDrawer,
  ElDropdown,
  ElEmpty,
  ElForm,
  ElIcon,
  ElInput,
  ElInputNumber,
  // The v-loading directive.
  ElLoading,
  ElMenu,
  ElPagination,
  ElRadio,
  ElResult,
  ElSelect,
  ElStatistic,
  ElSteps,
  ElSwitch,
  ElTable,
  ElTabs,
  ElTag,
  ElUpload,
];

export function useElementPlus(app: App): void {
  for (const p of PLUGINS) app.use(p);
}
