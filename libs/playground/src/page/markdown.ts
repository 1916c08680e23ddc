/// <reference lib="dom" />
import DOMPurify from 'dompurify';
import { marked } from 'marked';

/**
 * Markdown to HTML that cannot run script: marked renders it (raw HTML in the answer included), then DOMPurify keeps
 * only inert markup. A model answer is untrusted input. Links open in a new tab without an opener.
 */
export function renderMarkdown(text: string): string {
  const html = marked.parse(text, { async: false, gfm: true, breaks: true });
  return DOMPurify.sanitize(html, { FORBID_TAGS: ['style', 'form', 'input', 'button', 'iframe'], FORBID_ATTR: ['style'] });
}

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node instanceof HTMLAnchorElement) {
    node.target = '_blank';
    node.rel = 'noopener noreferrer';
  }
  // Images in an answer would fetch from wherever the model points: only data: images stay.
  if (node instanceof HTMLImageElement && !node.src.startsWith('data:')) node.removeAttribute('src');
});
