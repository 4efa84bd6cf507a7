// The chat's Markdown (issue 13): what a peer writes becomes a tree of allowed elements only;
// links are web links or nothing; nothing is fetched; huge or deeply nested input stays bounded.
// Snippet info strings and code locations are parsed strictly.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isLocalUrl, isWebUrl } from '../../src/protocol/links';
import { fenceLanguageOfPath, findLocations, formatSnippet, parseLocation, parseSnippetInfo, snippetMessage } from '../../src/protocol/snippet';
import { highlight, hlText, parseHighlighted } from '../../webview/highlight';
import { MAX_NODES, MdNode, renderMarkdown } from '../../webview/markdown';

const ALLOWED = new Set(['p', 'blockquote', 'ul', 'ol', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'hr', 'br', 'em', 'strong', 's', 'code', 'span']);

/** Every node of a tree, depth first. */
function* walk(nodes: MdNode[]): Generator<MdNode> {
  for (const n of nodes) {
    yield n;
    if (typeof n !== 'string' && 'children' in n) yield* walk(n.children);
  }
}
const textOf = (nodes: MdNode[]): string => nodes.map((n) => (typeof n === 'string' ? n : n.t === 'code' ? n.code : n.t === 'loc' ? n.text : textOf(n.children))).join('');
const links = (nodes: MdNode[]) => [...walk(nodes)].filter((n): n is Extract<MdNode, { t: 'link' }> => typeof n !== 'string' && n.t === 'link');
const count = (nodes: MdNode[]) => [...walk(nodes)].filter((n) => typeof n !== 'string').length;
const depth = (nodes: MdNode[]): number => Math.max(0, ...nodes.map((n) => (typeof n !== 'string' && 'children' in n ? 1 + depth(n.children) : 0)));

/** Only allowed tags, only http(s) links, no attribute but alignment and a list start. */
function assertSafe(nodes: MdNode[], what: string): void {
  for (const n of walk(nodes)) {
    if (typeof n === 'string') continue;
    if (n.t === 'el') {
      assert.ok(ALLOWED.has(n.tag), `${what}: tag ${n.tag}`);
      assert.deepEqual(Object.keys(n).filter((k) => !['t', 'tag', 'children', 'align', 'start'].includes(k)), [], `${what}: extra keys`);
    }
    if (n.t === 'link') assert.match(n.href, /^https?:\/\//, `${what}: link ${n.href}`);
  }
}

// The same corpus the hostile UI spec sends into the real chat.
const HOSTILE: string[] = JSON.parse(readFileSync(join(__dirname, '..', 'support', 'hostile-texts.json'), 'utf8'));

const MARKDOWN_VECTORS = [
  '[x](javascript:alert(1))',
  '[x](JaVaScRiPt:alert(1))',
  '[x](  javascript:alert(1)  )',
  '[x](java\u0000script:alert(1))',
  '<javascript:alert(1)>',
  '<vbscript:msgbox(1)>',
  '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '[x](file:///etc/passwd)',
  '[x](vscode:extension/evil)',
  '[x](command:workbench.action.terminal.new)',
  '[x](vscode-webview://abc/index.html)',
  '![](javascript:alert(1))',
  '[[[[[x](javascript:alert(1))]]]]',
  '[x][ref]\n\n[ref]: javascript:alert(1)',
  '[x](http://user:pass@example.com/)',
  '<http://a.b\u0000c/>',
];

describe('markdown: hostile input', () => {
  for (const text of [...HOSTILE, ...MARKDOWN_VECTORS]) {
    it(`renders ${JSON.stringify(text).slice(0, 60)} harmlessly`, () => {
      const tree = renderMarkdown(text);
      assertSafe(tree, text);
      assert.equal(links(tree).length, 0, 'no link survives');
    });
  }
  it('keeps raw HTML as its own text', () => {
    for (const text of HOSTILE.slice(0, 6)) assert.equal(textOf(renderMarkdown(text)).replace(/\s+/g, ' ').trim(), text.replace(/\s+/g, ' ').trim());
  });
  it('turns an image into a link that is never fetched, and only for web addresses', () => {
    const tree = renderMarkdown('![a cat](https://example.com/cat.png)');
    assert.deepEqual(links(tree).map((l) => [l.href, l.image, textOf(l.children)]), [['https://example.com/cat.png', true, 'a cat (image)']]);
  });
  it('keeps web links, bare or written out', () => {
    const tree = renderMarkdown('see [docs](https://code.visualstudio.com/api) and http://example.org/x');
    assert.deepEqual(links(tree).map((l) => l.href), ['https://code.visualstudio.com/api', 'http://example.org/x']);
  });
  it('10,000 nested quotes and list levels build a shallow tree', () => {
    for (const text of ['>'.repeat(10_000) + ' deep', Array.from({ length: 10_000 }, (_, i) => `${'  '.repeat(i)}- x`).join('\n').slice(0, 64 * 1024), '['.repeat(10_000) + 'x' + ']'.repeat(10_000), '*'.repeat(10_000) + 'x' + '*'.repeat(10_000)]) {
      const tree = renderMarkdown(text);
      assert.ok(depth(tree) <= 25, `depth ${depth(tree)}`);
      assert.ok(count(tree) <= MAX_NODES, `${count(tree)} nodes`);
    }
  });
  it('a huge table stays under the element budget, and its text is all there', () => {
    const rows = Array.from({ length: 3000 }, (_, i) => `| ${i} | b | c |`).join('\n');
    const text = `| a | b | c |\n|---|---|---|\n${rows}`.slice(0, 64 * 1024);
    const tree = renderMarkdown(text);
    assert.ok(count(tree) <= MAX_NODES + 1, `${count(tree)} nodes`);
    assert.ok(textOf(tree).includes('| 2999 |') || textOf(tree).includes('2999'), 'the text is kept');
  });
});

describe('markdown: what it renders', () => {
  it('emphasis, code spans, lists, quotes, tables, strikethrough', () => {
    const tree = renderMarkdown('*a* **b** `c` ~~d~~\n\n- x\n- y\n\n> q\n\n| h |\n|:-:|\n| v |');
    const tags = [...walk(tree)].filter((n) => typeof n !== 'string' && n.t === 'el').map((n) => (n as { tag: string }).tag);
    for (const t of ['em', 'strong', 'code', 's', 'ul', 'li', 'blockquote', 'table', 'th', 'td']) assert.ok(tags.includes(t), `no ${t} in ${tags.join(',')}`);
    const th = [...walk(tree)].find((n) => typeof n !== 'string' && n.t === 'el' && n.tag === 'th') as { align?: string };
    assert.equal(th.align, 'center');
  });
  it('a fenced block with a location is a snippet', () => {
    const tree = renderMarkdown('look:\n\n```ts src/core/node.ts:120-134\nconst a = 1;\n```');
    const code = [...walk(tree)].find((n) => typeof n !== 'string' && n.t === 'code');
    assert.deepEqual(code, { t: 'code', lang: 'ts', code: 'const a = 1;', location: { path: 'src/core/node.ts', start: 120, end: 134 } });
  });
  it('path:LINE in text and in code spans becomes a location', () => {
    const locs = [...walk(renderMarkdown('see src/extension.ts:42 and `webview/main.ts:7:3`, not 10:30 or http://x.y:80/'))].filter((n) => typeof n !== 'string' && n.t === 'loc');
    assert.deepEqual(
      locs.map((n) => (n as { location: unknown }).location),
      [
        { path: 'src/extension.ts', start: 42, end: 42 },
        { path: 'webview/main.ts', start: 7, end: 7, column: 3 },
      ],
    );
  });
  it('breaks lines as typed', () => {
    assert.ok([...walk(renderMarkdown('one\ntwo'))].some((n) => typeof n !== 'string' && n.t === 'el' && n.tag === 'br'));
  });
});

describe('snippets on the wire', () => {
  it('parses info strings', () => {
    assert.deepEqual(parseSnippetInfo('ts src/core/node.ts:120-134'), { lang: 'ts', location: { path: 'src/core/node.ts', start: 120, end: 134 } });
    assert.deepEqual(parseSnippetInfo('python a.py:5'), { lang: 'python', location: { path: 'a.py', start: 5, end: 5 } });
    assert.deepEqual(parseSnippetInfo('src/x.go:3-4'), { lang: '', location: { path: 'src/x.go', start: 3, end: 4 } });
    assert.deepEqual(parseSnippetInfo('js'), { lang: 'js' });
    assert.deepEqual(parseSnippetInfo('ts a.ts:9-3'), { lang: 'ts' }, 'end before start');
    assert.deepEqual(parseSnippetInfo('ts a.ts:0'), { lang: 'ts' }, 'line 0');
    assert.deepEqual(parseSnippetInfo('<script> a.ts:1'), { lang: '', location: { path: 'a.ts', start: 1, end: 1 } });
  });
  it('formats a fence longer than any backtick run inside', () => {
    const s = formatSnippet('a ``` b\n', 'md', { path: 'R.md', start: 1, end: 1 });
    assert.equal(s, '````md R.md:1\na ``` b\n````');
    const tree = renderMarkdown(s);
    assert.deepEqual([...walk(tree)].find((n) => typeof n !== 'string' && n.t === 'code'), { t: 'code', lang: 'md', code: 'a ``` b', location: { path: 'R.md', start: 1, end: 1 } });
  });
  it('a selection too large for one message is clipped at a line, with the range sent and a note', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i + 1} ${'x'.repeat(60)}`);
    const text = snippetMessage(lines, 10, 'ts', 'src/big.ts', 'have a look', 64 * 1024);
    assert.ok(Buffer.byteLength(text) <= 64 * 1024, `${Buffer.byteLength(text)} bytes`);
    const code = [...walk(renderMarkdown(text))].find((n) => typeof n !== 'string' && n.t === 'code') as { code: string; location: { start: number; end: number } };
    assert.equal(code.location.start, 10);
    const sent = code.code.split('\n').length;
    assert.equal(code.location.end, 10 + sent - 1, 'the range names exactly the lines sent');
    assert.ok(sent > 900 && sent < 2000, `${sent} lines`);
    assert.match(text, new RegExp(`clipped to fit one message: lines 10–${code.location.end} of 10–2009; ${2000 - sent} lines not sent`));
    assert.ok(text.startsWith('have a look\n\n```ts src/big.ts:10-'));
    const small = snippetMessage(['a', 'b'], 3, 'python', 'a.py', '', 64 * 1024);
    assert.equal(small, '```python a.py:3-4\na\nb\n```');
    const oneHuge = snippetMessage(['y'.repeat(100_000)], 1, '', 'min.js', '', 64 * 1024);
    assert.ok(Buffer.byteLength(oneHuge) <= 64 * 1024 && /line clipped/.test(oneHuge));
    assert.equal(fenceLanguageOfPath('src/a.PY'), 'python');
  });
  it('locations refuse what is not one', () => {
    for (const bad of ['a.ts', 'a.ts:', 'a.ts:x', ':3', 'a b.ts:3', 'a.ts:3-2', `${'a'.repeat(400)}.ts:1`]) assert.equal(parseLocation(bad), undefined, bad);
    assert.deepEqual(findLocations('at 12:30 we meet; v1.2:3? see ./a.ts:3').map((f) => f.location.path), ['./a.ts']);
  });
});

describe('highlighting', () => {
  it('gives classed spans whose text is exactly the code, for hostile code too', () => {
    const code = 'const s = "<script>alert(1)</script>" & 1; // </span><b>';
    const tree = highlight(code, 'ts');
    assert.ok(tree);
    assert.equal(hlText(tree), code);
    assert.ok(tree.some((n) => typeof n !== 'string' && /hljs-/.test(n.cls)));
  });
  it('refuses output it does not know', () => {
    assert.equal(parseHighlighted('<span class="a">x'), undefined);
    assert.equal(parseHighlighted('<b>x</b>'), undefined);
    assert.equal(parseHighlighted('<span class="x" onclick="y">z</span>'), undefined);
  });
  it('unknown languages and huge code stay plain', () => {
    assert.equal(highlight('x', 'klingon'), undefined);
    assert.equal(highlight('x'.repeat(30_000), 'ts'), undefined);
  });
});

describe('links from peers', () => {
  it('only http(s) links with a host and no credentials are links', () => {
    for (const ok of ['http://example.org/', 'https://example.org/a?b#c', 'http://127.0.0.1:8080/']) assert.ok(isWebUrl(ok), ok);
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd', 'vscode://x', 'command:workbench.action.closeWindow', 'https://user:pw@example.org/', 'http://', 'http://exa mple.org/', `https://example.org/${'a'.repeat(3000)}`, 'https://example.org/\u0085']) assert.ok(!isWebUrl(bad), bad);
  });

  it('links to this machine are told apart (the host asks before opening them)', () => {
    for (const local of ['http://localhost:3000/', 'http://LOCALHOST/', 'http://app.localhost/', 'http://127.0.0.1/', 'http://127.1.2.3:9/', 'http://[::1]:80/', 'http://0.0.0.0:8080/', 'http://[::ffff:127.0.0.1]/']) assert.ok(isLocalUrl(local), local);
    for (const remote of ['https://example.org/', 'http://192.0.2.1/', 'http://localhost.example.org/', 'http://128.0.0.1/', 'not a url']) assert.ok(!isLocalUrl(remote), remote);
  });
});
