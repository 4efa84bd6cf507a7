/**
 * The DOM of a message's Markdown tree: elements made with createElement, peer text as text
 * nodes, links and code locations as buttons that ask the host (which checks again and asks the
 * user). Code blocks get Copy and Insert, snippets a header with Open; highlighting waits until
 * the block is on screen, so a burst of code messages costs no more than plain ones.
 */
import type { CodeLocation } from '../src/protocol/snippet';
import { formatLocation } from '../src/protocol/snippet';
import type { SnippetStatus, WebviewToHost } from '../src/protocol/webviewMessages';
import { highlight, HlNode } from './highlight';
import type { MdNode } from './markdown';

export interface CodeActions {
  post(msg: WebviewToHost): void;
  /** Asks the host whether a snippet's lines match the file; the answer comes back by key. */
  check(key: string, location: CodeLocation, code: string, onStatus: (s: SnippetStatus, detail?: string) => void): void;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function button(label: string, title: string, onClick: () => void, icon?: string): HTMLButtonElement {
  const b = el('button', 'code-action');
  b.type = 'button';
  b.title = title;
  b.setAttribute('aria-label', label);
  if (icon) b.append(el('i', `codicon codicon-${icon}`));
  b.append(el('span', 'code-action-label', label));
  b.addEventListener('click', (e) => {
    e.preventDefault();
    onClick();
  });
  return b;
}

function hlDom(nodes: HlNode[], into: Node): void {
  for (const n of nodes) {
    if (typeof n === 'string') {
      into.appendChild(document.createTextNode(n));
    } else {
      const span = el('span');
      // Only highlight.js's own class names (checked when parsed); colours come from chat.css.
      span.className = n.cls;
      hlDom(n.children, span);
      into.appendChild(span);
    }
  }
}

/** Highlights code blocks as they scroll into view, once each. */
const onScreen = typeof IntersectionObserver === 'undefined'
  ? undefined
  : new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        onScreen?.unobserve(e.target);
        lazy.get(e.target)?.();
        lazy.delete(e.target);
      }
    }, { rootMargin: '200px' });
const lazy = new WeakMap<Element, () => void>();

/** Runs `work` once `target` is on screen (or near it), at once where that cannot be known. */
export function whenVisible(target: Element, work: () => void): void {
  if (!onScreen) return work();
  lazy.set(target, work);
  onScreen.observe(target);
}

/**
 * What a link does, by element: one listener for the whole document instead of two per link
 * (a burst of messages full of links would otherwise build thousands of closures a second).
 */
const linkActions = new WeakMap<Element, () => void>();
let delegated = false;

function onLink(e: HTMLElement, action: () => void): void {
  linkActions.set(e, action);
  if (delegated) return;
  delegated = true;
  const run = (ev: Event) => {
    const a = ev.target instanceof Element ? ev.target.closest('a.link') : null;
    const act = a ? linkActions.get(a) : undefined;
    if (!act) return;
    ev.preventDefault();
    act();
  };
  document.addEventListener('click', run);
  document.addEventListener('keydown', (ev) => ev.key === 'Enter' && run(ev));
}

let snippetSerial = 0;

function codeBlock(n: Extract<MdNode, { t: 'code' }>, a: CodeActions): HTMLElement {
  const box = el('div', 'code-block');
  const head = el('div', 'code-head');
  const label = el('span', 'code-label', n.location ? formatLocation(n.location).replace(/-(\d+)$/, '\u2013$1') : n.lang || 'code');
  const status = el('span', 'code-status');
  head.append(label, status);
  const tools = el('span', 'code-tools');
  if (n.location) {
    const loc = n.location;
    tools.append(button('Open', `Open ${loc.path} at line ${loc.start}`, () => a.post({ type: 'openLocation', location: loc, code: n.code, lang: n.lang }), 'go-to-file'));
  }
  tools.append(
    button('Copy', 'Copy the code', () => a.post({ type: 'copy', text: n.code }), 'copy'),
    button('Insert', 'Insert at the cursor of the editor', () => a.post({ type: 'insertCode', code: n.code }), 'insert'),
  );
  head.append(tools);
  const pre = el('pre');
  const code = el('code', n.lang ? `hljs language-${n.lang.replace(/[^\w-]/g, '')}` : 'hljs');
  code.textContent = n.code;
  pre.append(code);
  box.append(head, pre);
  whenVisible(box, () => {
    const tree = highlight(n.code, n.lang);
    if (tree) {
      code.replaceChildren();
      hlDom(tree, code);
    }
    if (!n.location) return;
    const loc = n.location;
    a.check(`s${++snippetSerial}`, loc, n.code, (s, detail) => {
      status.className = `code-status status-${s}`;
      if (s === 'same') {
        status.textContent = '';
        return;
      }
      status.textContent = s === 'differs' ? 'differs from your file' : s === 'missing' ? 'not in your workspace' : 'refused';
      if (detail) status.title = detail;
      tools.querySelector('.code-action')?.replaceWith(
        ...(s === 'differs' ? [button('Compare', 'Compare the snippet with your file', () => a.post({ type: 'compareSnippet', location: loc, code: n.code, lang: n.lang }), 'diff'), button('Open', `Open ${loc.path} at line ${loc.start}`, () => a.post({ type: 'openLocation', location: loc, code: n.code, lang: n.lang }), 'go-to-file')] : []),
        button('Open as Untitled', 'Open the snippet in an untitled editor', () => a.post({ type: 'openUntitled', code: n.code, lang: n.lang }), 'new-file'),
      );
    });
  });
  return box;
}

/**
 * Appends `text` as text nodes with a <wbr> every 80 characters inside long runs without white
 * space: the browser's line breaking of one 60 KB word takes seconds, with break opportunities it
 * takes milliseconds. The text content stays exactly the text.
 */
export function appendBreakable(host: Node, text: string): void {
  for (const part of text.split(/(\S{80,})/)) {
    if (part.length >= 80 && !/\s/.test(part)) {
      for (let i = 0; i < part.length; i += 80) {
        if (i > 0) host.appendChild(document.createElement('wbr'));
        host.appendChild(document.createTextNode(part.slice(i, i + 80)));
      }
    } else if (part) {
      host.appendChild(document.createTextNode(part));
    }
  }
}

/** Appends the DOM of `nodes` to `into`. */
export function mdDom(nodes: MdNode[], into: HTMLElement, a: CodeActions): void {
  for (const n of nodes) {
    if (typeof n === 'string') {
      appendBreakable(into, n);
      continue;
    }
    switch (n.t) {
      case 'el': {
        const e = el(n.tag);
        if (n.align) e.style.textAlign = n.align;
        if (n.start !== undefined && e instanceof HTMLOListElement) e.start = n.start;
        mdDom(n.children, e, a);
        into.appendChild(e);
        break;
      }
      case 'link': {
        const e = el('a', n.image ? 'link image-link' : 'link');
        // No href: the webview never navigates; the host opens web links after asking the user.
        e.title = n.href;
        e.tabIndex = 0;
        e.setAttribute('role', 'link');
        const href = n.href;
        onLink(e, () => a.post({ type: 'openLink', url: href }));
        mdDom(n.children, e, a);
        into.appendChild(e);
        break;
      }
      case 'loc': {
        const e = el('a', 'link location', n.text);
        e.title = `Open ${n.location.path} at line ${n.location.start}`;
        e.tabIndex = 0;
        e.setAttribute('role', 'link');
        const location = n.location;
        onLink(e, () => a.post({ type: 'openLocation', location }));
        into.appendChild(e);
        break;
      }
      case 'code':
        into.appendChild(codeBlock(n, a));
        break;
    }
  }
}
