/**
 * A plugin's README.md as HTML that cannot run script: Markdown through marked, then DOMPurify, which
 * drops <script>, event handler attributes, javascript: URLs and the like. A package is third-party
 * content shown inside an administrator's session, so nothing in it may execute.
 */
import DOMPurify from 'dompurify';
import { marked } from 'marked';

export function renderReadme(markdown: string): string {
  const html = marked.parse(markdown, { async: false, gfm: true });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input'] });
}
