/**
 * Message text as Markdown, turned into a small tree of allowed elements (never an HTML string):
 * markdown-it parses with raw HTML off, and only the tags below, http(s) links, code blocks and
 * code locations come out. The DOM is built from the tree with createElement and text nodes, so
 * nothing a peer writes is ever parsed as HTML. Pure: unit tests run it without a browser.
 */
import MarkdownIt from 'markdown-it';
import type Token from 'markdown-it/lib/token.mjs';
import { isWebUrl } from '../src/protocol/links';
import { CodeLocation, findLocations, parseLocation, parseSnippetInfo } from '../src/protocol/snippet';

export type BlockTag = 'p' | 'blockquote' | 'ul' | 'ol' | 'li' | 'h1' | 'h2' | 'h3' | 'h4' | 'h5' | 'h6' | 'table' | 'thead' | 'tbody' | 'tr' | 'th' | 'td' | 'hr' | 'br';
export type InlineTag = 'em' | 'strong' | 's' | 'code' | 'span';
export type Tag = BlockTag | InlineTag;

export type MdNode =
  | string
  | { t: 'el'; tag: Tag; children: MdNode[]; align?: 'left' | 'center' | 'right'; start?: number }
  /** An http(s) link, opened by the host (which asks the user) on click. */
  | { t: 'link'; href: string; children: MdNode[]; image?: boolean }
  /** `path:LINE` in text: opens the file on click, checked only then. */
  | { t: 'loc'; location: CodeLocation; text: string }
  /** A fenced or indented code block; `location` when the info string names one (a snippet). */
  | { t: 'code'; lang: string; code: string; location?: CodeLocation };

/** Elements one message may produce: past it the rest is plain text (a 64 KiB table is 10,000 cells). */
export const MAX_NODES = 3000;

const md = new MarkdownIt('commonmark', { html: false, linkify: true, breaks: true });
md.enable(['table', 'strikethrough', 'linkify']);
// The commonmark preset stops nesting at 20 levels: 10,000 nested quotes build 20 elements.
// Only web links survive as links; javascript:, data:, file:, command:, vscode: stay text.
md.validateLink = (url: string) => isWebUrl(url);


const BLOCK: Record<string, Tag> = {
  paragraph_open: 'p',
  blockquote_open: 'blockquote',
  bullet_list_open: 'ul',
  ordered_list_open: 'ol',
  list_item_open: 'li',
  heading_open: 'h1',
  table_open: 'table',
  thead_open: 'thead',
  tbody_open: 'tbody',
  tr_open: 'tr',
  th_open: 'th',
  td_open: 'td',
  em_open: 'em',
  strong_open: 'strong',
  s_open: 's',
};

type Parent = { children: MdNode[] };

class Builder {
  nodes = 0;
  full = false;

  add(parent: Parent, n: MdNode): void {
    if (typeof n !== 'string') this.nodes++;
    if (this.nodes > MAX_NODES) this.full = true;
    parent.children.push(n);
  }

  text(parent: Parent, s: string): void {
    if (!s) return;
    let at = 0;
    for (const f of findLocations(s)) {
      if (f.index > at) parent.children.push(s.slice(at, f.index));
      this.add(parent, { t: 'loc', location: f.location, text: s.slice(f.index, f.index + f.length) });
      at = f.index + f.length;
    }
    if (at < s.length) parent.children.push(s.slice(at));
  }

  /** Block and inline tokens share one shape: opening (+1), closing (-1), or a leaf (0). */
  tokens(root: Parent, tokens: Token[]): void {
    const stack: Parent[] = [root];
    for (const tok of tokens) {
      if (this.full) return;
      const top = stack[stack.length - 1];
      if (tok.nesting === 1) {
        // A tight list's paragraphs are hidden: their text goes straight into the item.
        if (tok.hidden) {
          stack.push(top);
          continue;
        }
        let n: MdNode;
        if (tok.type === 'link_open') {
          n = { t: 'link', href: tok.attrGet('href') ?? '', children: [] };
        } else {
          const tag: Tag = tok.type === 'heading_open' && /^h[1-6]$/.test(tok.tag) ? (tok.tag as Tag) : BLOCK[tok.type] ?? 'span';
          n = { t: 'el', tag, children: [] };
          const align = /text-align:(left|center|right)/.exec(tok.attrGet('style') ?? '')?.[1] as 'left' | 'center' | 'right' | undefined;
          if (align) n.align = align;
          const start = tok.type === 'ordered_list_open' ? Number(tok.attrGet('start') ?? 1) : 1;
          if (start !== 1 && Number.isSafeInteger(start)) n.start = start;
        }
        this.add(top, n);
        stack.push(n);
        continue;
      }
      if (tok.nesting === -1) {
        if (stack.length > 1) stack.pop();
        continue;
      }
      switch (tok.type) {
        case 'inline':
          this.tokens(top, tok.children ?? []);
          break;
        case 'text':
          this.text(top, tok.content);
          break;
        case 'code_inline': {
          // `src/a.ts:12` in backticks is still a place to open.
          const loc = parseLocation(tok.content);
          this.add(top, loc && /[/.]/.test(loc.path) ? { t: 'loc', location: loc, text: tok.content } : { t: 'el', tag: 'code', children: [tok.content] });
          break;
        }
        case 'fence':
        case 'code_block': {
          const info = tok.type === 'fence' ? parseSnippetInfo(tok.info) : { lang: '' };
          const n: MdNode = { t: 'code', lang: info.lang, code: tok.content.replace(/\n$/, '') };
          if (info.location) n.location = info.location;
          this.add(top, n);
          break;
        }
        case 'softbreak':
        case 'hardbreak':
          this.add(top, { t: 'el', tag: 'br', children: [] });
          break;
        case 'hr':
          this.add(top, { t: 'el', tag: 'hr', children: [] });
          break;
        case 'image': {
          // Never fetched: an image is a link to it, labelled with its description.
          const src = tok.attrGet('src') ?? '';
          const alt = tok.content || 'image';
          this.add(top, isWebUrl(src) ? { t: 'link', href: src, children: [`${alt} (image)`], image: true } : `${alt} (image)`);
          break;
        }
        default:
          // html_inline/html_block cannot occur with html off; anything unknown shows its source.
          if (tok.content) this.text(top, tok.content);
      }
    }
  }
}

/** The tree of one message's text. Over MAX_NODES the whole text is one plain paragraph. */
export function renderMarkdown(text: string): MdNode[] {
  const root: Parent = { children: [] };
  const b = new Builder();
  b.tokens(root, md.parse(text, {}));
  if (b.full) return [{ t: 'el', tag: 'p', children: [text] }];
  return root.children;
}

/** Whether a text needs the Markdown path at all: most chat lines are plain words. */
export function looksLikeMarkdown(text: string): boolean {
  return /[*_`~#>[\]|\\<]|^\s*([-+]|\d+[.)])\s|https?:|:\d/m.test(text);
}
