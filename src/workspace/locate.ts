/**
 * Where a path from a message is in the receiver's workspace. Paths are untrusted: only relative
 * paths with forward slashes, no `..`, no drive letters or URIs, and the real file (symlinks
 * followed) must lie inside the workspace folder it was found in. Pure apart from the file system
 * calls, which are passed in, so it runs without VS Code.
 */
import * as nodePath from 'node:path';
import type { CodeLocation } from '../protocol/snippet';

export interface LocateFs {
  realpath(p: string): Promise<string>;
  stat(p: string): Promise<{ isFile(): boolean; size: number }>;
}

export type Located = { ok: true; file: string; folder: string } | { ok: false; reason: string; missing?: boolean };

/** Why a path from a peer is refused before looking at the disk, or undefined when it may be looked up. */
export function refusePath(p: string): string | undefined {
  if (!p) return 'the path is empty';
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'the path has control characters';
  if (/^[a-z][a-z0-9+.-]*:/i.test(p)) return /^[a-z]:/i.test(p) ? 'a drive letter is an absolute path: only paths inside the workspace open' : 'a URI is not a workspace path';
  if (p.startsWith('/') || p.startsWith('~')) return 'an absolute path: only paths inside the workspace open';
  if (p.includes('\\')) return 'backslashes: snippet paths use forward slashes';
  if (p.split('/').some((seg) => seg === '..')) return 'a ".." segment: only paths inside the workspace open';
  return undefined;
}

function inside(folder: string, file: string): boolean {
  const rel = nodePath.relative(folder, file);
  return rel !== '' && !rel.startsWith('..') && !nodePath.isAbsolute(rel);
}

/** The first workspace folder holding `p` as a regular file whose real path stays inside it. */
export async function locate(p: string, folders: readonly string[], fs: LocateFs): Promise<Located> {
  const refused = refusePath(p);
  if (refused) return { ok: false, reason: refused };
  if (folders.length === 0) return { ok: false, reason: 'no workspace folder is open', missing: true };
  let escaped: string | undefined;
  for (const folder of folders) {
    const candidate = nodePath.join(folder, ...p.split('/').filter((s) => s && s !== '.'));
    if (!inside(folder, candidate)) continue;
    let real: string;
    let realFolder: string;
    try {
      real = await fs.realpath(candidate);
      realFolder = await fs.realpath(folder);
    } catch {
      continue; // not in this folder
    }
    if (!inside(realFolder, real)) {
      escaped = `${p} leads outside the workspace folder (through a link): not opened`;
      continue;
    }
    try {
      if (!(await fs.stat(real)).isFile()) continue;
    } catch {
      continue;
    }
    return { ok: true, file: real, folder };
  }
  return escaped ? { ok: false, reason: escaped } : { ok: false, reason: `${p} is not in your workspace`, missing: true };
}

/** Whether the file's lines at the location are the snippet's (line endings and trailing blanks aside). */
export function sameLines(fileText: string, start: number, code: string): boolean {
  const norm = (s: string) => s.replace(/\r\n?/g, '\n').split('\n').map((l) => l.trimEnd());
  const want = norm(code.replace(/\n$/, ''));
  const have = norm(fileText).slice(start - 1, start - 1 + want.length);
  return have.length === want.length && have.every((l, i) => l === want[i]);
}

/**
 * The file as the sender has it, as far as the snippet shows: the receiver's file with the
 * snippet's range replaced by the shared lines. A diff against the file then shows exactly the
 * lines that differ, at their place, not the whole file as added around a fragment.
 */
export function fileWithSnippet(fileText: string, location: CodeLocation, code: string): string {
  const eol = fileText.includes('\r\n') ? '\r\n' : '\n';
  const lines = fileText.split(/\r?\n/);
  const from = Math.min(location.start - 1, lines.length);
  const count = Math.max(0, Math.min(location.end, lines.length) - from);
  lines.splice(from, count, ...code.replace(/\r\n?/g, '\n').split('\n'));
  return lines.join(eol);
}
