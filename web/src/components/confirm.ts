/**
 * Asks before a destructive action; resolves true when the user confirmed, false when they backed out. The
 * confirm button says what happens (the title, e.g. "Kick Out"), not a bare OK.
 */
import { ElMessageBox } from 'element-plus';
import { t } from '../i18n';

export async function confirmed(message: string, title: string, confirmText?: string): Promise<boolean> {
  try {
    await ElMessageBox.confirm(message, title, {
      type: 'warning',
      confirmButtonText: confirmText ?? title,
      cancelButtonText: t('common.cancel'),
    });
    return true;
  } catch {
    return false;
  }
}
