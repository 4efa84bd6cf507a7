// Paths in messages are untrusted (issue 13): only relative paths inside a workspace folder open,
// checked on a real file system with real symlinks.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fileWithSnippet, locate, refusePath, sameLines } from '../../src/workspace/locate';
import { tmpDir } from '../support/tmpDir';

const realFs = { realpath: (p: string) => fs.promises.realpath(p), stat: (p: string) => fs.promises.stat(p) };

describe('paths from peers', () => {
  const root = tmpDir('peerchat-ws-');
  const ws = path.join(root, 'ws');
  const other = path.join(root, 'ws2');
  const outside = path.join(root, 'secret');
  fs.mkdirSync(path.join(ws, 'src', 'core'), { recursive: true });
  fs.mkdirSync(other);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(ws, 'src', 'core', 'node.ts'), 'a\nb\nc\n');
  fs.writeFileSync(path.join(other, 'only-here.md'), 'x');
  fs.writeFileSync(path.join(outside, 'id_rsa'), 'KEY');
  fs.symlinkSync(outside, path.join(ws, 'link-out'));
  fs.symlinkSync(path.join(outside, 'id_rsa'), path.join(ws, 'key.txt'));
  fs.symlinkSync(path.join(ws, 'src'), path.join(ws, 'link-in'));
  const folders = [ws, other];

  const REFUSED: [string, RegExp][] = [
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['~/.ssh/id_rsa', /absolute/],
    ['C:/Windows/win.ini', /drive letter/],
    ['c:\\Windows\\win.ini', /drive letter/],
    ['file:///etc/passwd', /URI/],
    ['vscode://ms-vscode.foo', /URI/],
    ['command:workbench.action.terminal.new', /URI/],
    ['../secret/id_rsa', /\.\./],
    ['src/../../secret/id_rsa', /\.\./],
    ['src\\core\\node.ts', /backslashes/],
    ['src/core/node.ts\u0000.png', /control/],
  ];
  for (const [p, why] of REFUSED) {
    it(`refuses ${JSON.stringify(p)}`, async () => {
      assert.match(refusePath(p) ?? '', why);
      const r = await locate(p, folders, realFs);
      assert.equal(r.ok, false);
    });
  }
  it('refuses symlinks that lead outside the workspace folder', async () => {
    for (const p of ['link-out/id_rsa', 'key.txt']) {
      const r = await locate(p, folders, realFs);
      assert.equal(r.ok, false, p);
      assert.match(r.ok ? '' : r.reason, /outside the workspace folder/, p);
    }
  });
  it('resolves files inside, in any folder, through links that stay inside', async () => {
    const a = await locate('src/core/node.ts', folders, realFs);
    assert.deepEqual(a, { ok: true, file: fs.realpathSync(path.join(ws, 'src', 'core', 'node.ts')), folder: ws });
    const b = await locate('./only-here.md', folders, realFs);
    assert.equal(b.ok && b.folder, other);
    const c = await locate('link-in/core/node.ts', folders, realFs);
    assert.equal(c.ok, true);
  });
  it('says a missing file or a folder is not in the workspace', async () => {
    for (const p of ['src/nope.ts', 'src/core']) {
      const r = await locate(p, folders, realFs);
      assert.equal(!r.ok && r.missing, true, p);
    }
    const none = await locate('a.ts', [], realFs);
    assert.match(none.ok ? '' : none.reason, /no workspace folder/);
  });
  it('compares a snippet with the file lines', () => {
    assert.equal(sameLines('a\r\nb  \nc\n', 2, 'b\nc\n'), true);
    assert.equal(sameLines('a\nb\nc\n', 2, 'b\nX'), false);
    assert.equal(sameLines('a\nb\n', 2, 'b\nc\nd'), false, 'past the end of the file');
  });
});

describe('Compare: the file with the shared lines in their place', () => {
  const file = 'one\ntwo\nthree\nfour\n';

  it('replaces exactly the snippet\'s range, so the diff shows only the lines that differ', () => {
    assert.equal(fileWithSnippet(file, { path: 'f', start: 2, end: 3 }, 'TWO\nthree'), 'one\nTWO\nthree\nfour\n');
  });

  it('takes a snippet with more or fewer lines than its range', () => {
    assert.equal(fileWithSnippet(file, { path: 'f', start: 2, end: 3 }, 'x'), 'one\nx\nfour\n');
    assert.equal(fileWithSnippet(file, { path: 'f', start: 4, end: 4 }, 'a\nb'), 'one\ntwo\nthree\na\nb\n');
  });

  it('appends a snippet past the end of a shorter file, and keeps CRLF line ends', () => {
    assert.equal(fileWithSnippet('one\ntwo', { path: 'f', start: 9, end: 10 }, 'nine\nten'), 'one\ntwo\nnine\nten');
    assert.equal(fileWithSnippet('a\r\nb\r\nc', { path: 'f', start: 2, end: 2 }, 'B'), 'a\r\nB\r\nc');
  });
});
