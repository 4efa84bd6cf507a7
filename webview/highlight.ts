/**
 * Syntax highlighting of code blocks with highlight.js (core and a curated set of languages, to
 * keep the bundle small), returned as a tree of classed spans, never as HTML: highlight.js's
 * output is read back by a strict parser that knows its only shapes (a span with hljs classes,
 * its end, escaped text). Colours come from the theme's CSS variables (chat.css).
 */
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import csharp from 'highlight.js/lib/languages/csharp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import ini from 'highlight.js/lib/languages/ini';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import kotlin from 'highlight.js/lib/languages/kotlin';
import markdown from 'highlight.js/lib/languages/markdown';
import php from 'highlight.js/lib/languages/php';
import python from 'highlight.js/lib/languages/python';
import ruby from 'highlight.js/lib/languages/ruby';
import rust from 'highlight.js/lib/languages/rust';
import shell from 'highlight.js/lib/languages/shell';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

const LANGUAGES = { bash, c, cpp, csharp, css, diff, go, ini, java, javascript, json, kotlin, markdown, php, python, ruby, rust, shell, sql, typescript, xml, yaml };
for (const [name, lang] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, lang);

export type HlNode = string | { cls: string; children: HlNode[] };

/** Code longer than this is shown plain: highlighting 64 KiB takes a visible moment. */
export const MAX_HIGHLIGHT_CHARS = 20_000;

export function knownLanguage(lang: string): boolean {
  return !!lang && !!hljs.getLanguage(lang);
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#x27;': "'", '&#39;': "'" };

/** highlight.js's HTML back into a tree; anything it would not produce makes the result plain. */
export function parseHighlighted(html: string): HlNode[] | undefined {
  const root: { children: HlNode[] } = { children: [] };
  const stack: { children: HlNode[] }[] = [root];
  const re = /<span class="([\w -]{1,80})">|<\/span>|([^<&]+)|(&(?:amp|lt|gt|quot|#x27|#39);)/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < html.length && (m = re.exec(html))) {
    at = re.lastIndex;
    const top = stack[stack.length - 1];
    if (m[1] !== undefined) {
      if (stack.length > 50) return undefined;
      const n = { cls: m[1], children: [] as HlNode[] };
      top.children.push(n);
      stack.push(n);
    } else if (m[0] === '</span>') {
      if (stack.length === 1) return undefined;
      stack.pop();
    } else {
      const s = m[2] ?? ENTITIES[m[3]];
      const last = top.children[top.children.length - 1];
      if (typeof last === 'string') top.children[top.children.length - 1] = last + s;
      else top.children.push(s);
    }
  }
  return at === html.length && stack.length === 1 ? root.children : undefined;
}

/** The highlighted tree of `code`, or undefined when the language is unknown or the code too long. */
export function highlight(code: string, lang: string): HlNode[] | undefined {
  if (!knownLanguage(lang) || code.length > MAX_HIGHLIGHT_CHARS) return undefined;
  try {
    return parseHighlighted(hljs.highlight(code, { language: lang, ignoreIllegals: true }).value);
  } catch {
    return undefined;
  }
}

/** The text of a tree: equals the code it came from (tests check it). */
export function hlText(nodes: HlNode[]): string {
  return nodes.map((n) => (typeof n === 'string' ? n : hlText(n.children))).join('');
}
