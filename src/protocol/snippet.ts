/**
 * Code on the wire is plain Markdown: a fenced block whose info string is the language and the
 * location, `ts src/core/node.ts:120-134`. Classic peers read it as text; PeerChat shows it as
 * highlighted code with an Open button. Shared by the host, the webview and the terminal peer.
 */

/** A place in a workspace: a relative path with forward slashes, 1-based lines, inclusive. */
export interface CodeLocation {
  path: string;
  start: number;
  end: number;
  /** Column of a `path:LINE:COL` reference (1-based). */
  column?: number;
}

export interface SnippetInfo {
  /** The fence's language word ('' when only a location was given). */
  lang: string;
  location?: CodeLocation;
}

/** Longest path taken from a message: beyond any real file, short enough to show. */
export const MAX_LOCATION_PATH = 300;
/** Line numbers beyond this are not lines anyone shares. */
const MAX_LINE = 10_000_000;

// eslint-disable-next-line no-control-regex -- control characters are what this refuses
const LOCATION = /^([^\s:`<>"|?*\u0000-\u001f]+):(\d{1,8})(?:-(\d{1,8})|:(\d{1,6}))?$/;

/** `path:START-END`, `path:LINE` or `path:LINE:COL`; undefined for anything else. */
export function parseLocation(s: string): CodeLocation | undefined {
  const m = LOCATION.exec(s);
  if (!m || m[1].length > MAX_LOCATION_PATH) return undefined;
  const start = Number(m[2]);
  const end = m[3] !== undefined ? Number(m[3]) : start;
  if (start < 1 || end < start || end > MAX_LINE) return undefined;
  const loc: CodeLocation = { path: m[1], start, end };
  if (m[4] !== undefined && Number(m[4]) >= 1) loc.column = Number(m[4]);
  return loc;
}

export function formatLocation(l: CodeLocation): string {
  return `${l.path}:${l.start}${l.end !== l.start ? `-${l.end}` : l.column ? `:${l.column}` : ''}`;
}

/** The info string of a fence: `lang path:range`, or just one of them. */
export function parseSnippetInfo(info: string): SnippetInfo {
  const words = info.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return { lang: '' };
  const first = parseLocation(words[0]);
  if (first) return { lang: '', location: first };
  const lang = /^[\w#+.-]{1,40}$/.test(words[0]) ? words[0].toLowerCase() : '';
  const location = words.length > 1 ? parseLocation(words[1]) : undefined;
  return location ? { lang, location } : { lang };
}

/** The fence for `code`: one backtick longer than any run of backticks inside it. */
export function formatSnippet(code: string, lang: string, location?: CodeLocation): string {
  let longest = 0;
  for (const m of code.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  const info = [lang, location ? formatLocation(location) : ''].filter(Boolean).join(' ');
  return `${fence}${info}\n${code.replace(/\n$/, '')}\n${fence}`;
}

/**
 * `path:LINE` and `path:LINE:COL` references in ordinary text: a path with a slash or a file
 * extension, then the line. Index and length of each, with the location.
 */
export function findLocations(text: string): { index: number; length: number; location: CodeLocation }[] {
  const out: { index: number; length: number; location: CodeLocation }[] = [];
  const re = /(?<![\w/.:-])((?:[\w.-]+\/)*[\w-][\w.-]*\.[A-Za-z][A-Za-z0-9]{0,9}|(?:[\w.-]+\/)+[\w.-]+):(\d{1,8})(?:-(\d{1,8})|:(\d{1,6}))?(?![\w:/-])/g;
  for (const m of text.matchAll(re)) {
    const location = parseLocation(m[0]);
    if (location && !/^\.\.?$/.test(location.path)) out.push({ index: m.index, length: m[0].length, location });
    if (out.length >= 50) break; // a message of references is still one message, not a DOM flood
  }
  return out;
}

/** Language words of the fence for VS Code language ids, where they differ. */
const FENCE_LANG: Record<string, string> = { typescript: 'ts', javascript: 'js', typescriptreact: 'tsx', javascriptreact: 'jsx', python: 'python', shellscript: 'sh', csharp: 'cs', cpp: 'cpp', plaintext: '' };

export function fenceLanguage(vscodeLanguageId: string): string {
  return Object.hasOwn(FENCE_LANG, vscodeLanguageId) ? FENCE_LANG[vscodeLanguageId] : /^[\w#+.-]{1,40}$/.test(vscodeLanguageId) ? vscodeLanguageId : '';
}

/** VS Code language ids for fence words (for untitled editors and diffs). */
const LANGUAGE_ID: Record<string, string> = { ts: 'typescript', tsx: 'typescriptreact', js: 'javascript', jsx: 'javascriptreact', py: 'python', sh: 'shellscript', bash: 'shellscript', shell: 'shellscript', cs: 'csharp', 'c#': 'csharp', 'c++': 'cpp', rs: 'rust', rb: 'ruby', yml: 'yaml', md: 'markdown', kt: 'kotlin', golang: 'go', html: 'html', xml: 'xml' };

export function languageIdOf(fenceLang: string): string {
  const l = fenceLang.toLowerCase();
  return Object.hasOwn(LANGUAGE_ID, l) ? LANGUAGE_ID[l] : /^[\w-]{1,40}$/.test(l) ? l : 'plaintext';
}

const utf8 = new TextEncoder();
const utf8Length = (s: string) => utf8.encode(s).length;

/**
 * One snippet message within `maxBytes`: a selection too large is clipped at a line, the location
 * names what was sent, and a note says what was cut (native peers get one message, never pieces).
 */
export function snippetMessage(lines: string[], firstLine: number, lang: string, path: string, comment: string, maxBytes: number): string {
  const build = (n: number) => {
    const loc: CodeLocation = { path, start: firstLine, end: firstLine + n - 1 };
    const cut = lines.length - n;
    const note = cut > 0 ? `\n(clipped to fit one message: lines ${loc.start}–${loc.end} of ${firstLine}–${firstLine + lines.length - 1}; ${cut} line${cut === 1 ? '' : 's'} not sent)` : '';
    return `${comment ? `${comment}\n\n` : ''}${formatSnippet(lines.slice(0, n).join('\n'), lang, loc)}${note}`;
  };
  let lo = 1;
  let hi = lines.length;
  if (utf8Length(build(hi)) <= maxBytes) return build(hi);
  // The longest prefix of lines that fits (a single huge line is cut by characters).
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (utf8Length(build(mid)) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  const one = build(lo);
  if (utf8Length(one) <= maxBytes) return one;
  const room = Math.max(0, lines[0].length - (utf8Length(one) - maxBytes) - 64);
  return snippetMessage([`${lines[0].slice(0, room)} …(line clipped)`], firstLine, lang, path, comment, maxBytes);
}

/** Fence words for file extensions (the terminal peer has no editor to ask). */
const EXT_LANG: Record<string, string> = { ts: 'ts', tsx: 'tsx', js: 'js', mjs: 'js', cjs: 'js', jsx: 'jsx', py: 'python', c: 'c', h: 'c', cc: 'cpp', cpp: 'cpp', hpp: 'cpp', cs: 'cs', java: 'java', go: 'go', rs: 'rust', rb: 'ruby', php: 'php', kt: 'kotlin', sh: 'sh', bash: 'bash', json: 'json', yml: 'yaml', yaml: 'yaml', md: 'markdown', css: 'css', html: 'html', xml: 'xml', sql: 'sql', ini: 'ini', diff: 'diff' };

export function fenceLanguageOfPath(path: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
  return Object.hasOwn(EXT_LANG, ext) ? EXT_LANG[ext] : '';
}
