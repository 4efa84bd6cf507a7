/**
 * What the chat's code and links do in the editor: open a web link (through VS Code, which asks),
 * open a shared location inside the workspace with its lines selected, compare a snippet with the
 * file, open it untitled, insert or copy code. Every request comes from the webview, so every
 * path and link is checked here again; nothing runs a task or a command named by a peer.
 */
import { promises as fsp } from 'node:fs';
import * as vscode from 'vscode';
import { isLocalUrl, isWebUrl } from '../protocol/links';
import { CodeLocation, fenceLanguage, formatLocation, languageIdOf } from '../protocol/snippet';
import type { SnippetStatus } from '../protocol/webviewMessages';
import { fileWithSnippet, locate, Located, sameLines } from '../workspace/locate';

/** Files bigger than this are not read to compare a snippet. */
const MAX_COMPARE_BYTES = 8 * 1024 * 1024;
/** Read-only documents of shared snippets (for Compare): the newest few are kept. */
const SNIPPET_SCHEME = 'peerchat-snippet';
const MAX_SNIPPET_DOCS = 32;

export class CodeActions implements vscode.Disposable {
  /** The editor the user was in last: when the chat has focus there is no active one. */
  private lastEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  private readonly sub: vscode.Disposable;
  private readonly snippets = new Map<string, string>();
  private serial = 0;

  constructor(private readonly log: vscode.LogOutputChannel) {
    const docs: vscode.TextDocumentContentProvider = { provideTextDocumentContent: (uri) => this.snippets.get(uri.query) ?? '' };
    this.sub = vscode.Disposable.from(
      vscode.window.onDidChangeActiveTextEditor((e) => {
        if (e) this.lastEditor = e;
      }),
      // Read-only: closing the diff never asks to save an untitled snippet.
      vscode.workspace.registerTextDocumentContentProvider(SNIPPET_SCHEME, docs),
    );
  }

  /** A read-only document holding `text`, named like `file` (so it gets the file's language). */
  private snippetUri(file: string, text: string): vscode.Uri {
    const key = String(++this.serial);
    this.snippets.set(key, text);
    for (const old of this.snippets.keys()) {
      if (this.snippets.size <= MAX_SNIPPET_DOCS) break;
      this.snippets.delete(old);
    }
    const name = file.split(/[\\/]/).pop() || 'snippet';
    return vscode.Uri.from({ scheme: SNIPPET_SCHEME, path: `/shared/${name}`, query: key });
  }

  dispose(): void {
    this.sub.dispose();
  }

  private folders(): string[] {
    return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  }

  private async find(location: CodeLocation): Promise<Located> {
    const found = await locate(location.path, this.folders(), { realpath: (p) => fsp.realpath(p), stat: (p) => fsp.stat(p) });
    if (found.ok) {
      const size = (await fsp.stat(found.file)).size;
      if (size > MAX_COMPARE_BYTES) return { ok: false, reason: `${location.path} is over ${MAX_COMPARE_BYTES / 1024 / 1024} MiB: not opened from the chat` };
    }
    return found;
  }

  async openLink(url: string): Promise<void> {
    if (!isWebUrl(url)) {
      this.log.warn(`chat: refused to open a link that is not http(s): ${JSON.stringify(url.slice(0, 100))}`);
      void vscode.window.showWarningMessage('PeerChat opens only http and https links.');
      return;
    }
    if (isLocalUrl(url)) {
      const open = await vscode.window.showWarningMessage(`Open ${url.slice(0, 300)}?`, { modal: true, detail: 'A peer sent this link to a service on your own machine (localhost). Open it only if you expected it.' }, 'Open');
      if (open !== 'Open') {
        this.log.info(`chat: did not open a link to this machine: ${JSON.stringify(url.slice(0, 100))}`);
        return;
      }
    }
    // openExternal asks the user before it opens a domain they have not trusted.
    await vscode.env.openExternal(vscode.Uri.parse(url, true));
  }

  async status(location: CodeLocation, code: string): Promise<{ status: SnippetStatus; detail?: string }> {
    const found = await this.find(location);
    if (!found.ok) return { status: found.missing ? 'missing' : 'refused', detail: found.reason };
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(found.file));
    return sameLines(doc.getText(), location.start, code) ? { status: 'same' } : { status: 'differs', detail: `${formatLocation(location)} is not the same in your copy of the file` };
  }

  async openLocation(location: CodeLocation, code?: string, lang?: string): Promise<void> {
    const found = await this.find(location);
    if (!found.ok) {
      this.log.info(`chat: did not open ${formatLocation(location).slice(0, 200)}: ${found.reason}`);
      const choice = code !== undefined ? await vscode.window.showWarningMessage(`Cannot open ${location.path}: ${found.reason}.`, 'Open Snippet as Untitled') : await vscode.window.showWarningMessage(`Cannot open ${location.path}: ${found.reason}.`);
      if (choice && code !== undefined) await this.openUntitled(code, lang ?? '');
      return;
    }
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(found.file));
    const last = Math.max(0, doc.lineCount - 1);
    const from = Math.min(location.start - 1, last);
    const to = Math.min(location.end - 1, last);
    const range = location.column !== undefined && location.start === location.end ? new vscode.Range(from, location.column - 1, from, location.column - 1) : new vscode.Range(from, 0, to, doc.lineAt(to).text.length);
    const editor = await vscode.window.showTextDocument(doc, { selection: range, preview: true, viewColumn: vscode.ViewColumn.One });
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    if (code !== undefined && !sameLines(doc.getText(), location.start, code)) {
      const choice = await vscode.window.showInformationMessage(`The shared lines differ from ${formatLocation(location)} in your workspace.`, 'Compare', 'Open Snippet as Untitled');
      if (choice === 'Compare') await this.compare(location, code, lang ?? '');
      else if (choice) await this.openUntitled(code, lang ?? '');
    }
  }

  async compare(location: CodeLocation, code: string, lang: string): Promise<void> {
    const found = await this.find(location);
    if (!found.ok) {
      void vscode.window.showWarningMessage(`Cannot compare with ${location.path}: ${found.reason}.`);
      return;
    }
    const file = vscode.Uri.file(found.file);
    const doc = await vscode.workspace.openTextDocument(file);
    const shared = this.snippetUri(found.file, fileWithSnippet(doc.getText(), location, code));
    this.log.info(`chat: comparing a shared snippet (${lang || 'text'}) with ${formatLocation(location).slice(0, 200)}`);
    const start = new vscode.Position(Math.max(0, location.start - 1), 0);
    await vscode.commands.executeCommand('vscode.diff', shared, file, `Shared ↔ ${formatLocation(location)}`, { selection: new vscode.Range(start, start) });
  }

  async openUntitled(code: string, lang: string): Promise<void> {
    const doc = await vscode.workspace.openTextDocument({ content: code, language: languageIdOf(lang) });
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.One });
  }

  async insert(code: string): Promise<void> {
    const editor = this.lastEditor && !this.lastEditor.document.isClosed ? this.lastEditor : vscode.window.visibleTextEditors[0];
    if (!editor) {
      void vscode.window.showWarningMessage('Open a file to insert the code into.');
      return;
    }
    await vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preserveFocus: false });
    await editor.edit((b) => {
      for (const sel of editor.selections) b.replace(sel, code);
    });
  }

  async copy(text: string): Promise<void> {
    await vscode.env.clipboard.writeText(text);
    void vscode.window.setStatusBarMessage('PeerChat: code copied', 2000);
  }

  /** The fence language of the editor `text` was copied from, or null when no open editor holds it. */
  pasteLanguage(text: string): string | null {
    const want = text.replace(/\r\n?/g, '\n');
    const editors = [this.lastEditor, ...vscode.window.visibleTextEditors].filter((e): e is vscode.TextEditor => !!e && !e.document.isClosed);
    for (const e of editors) {
      if (e.document.getText().replace(/\r\n?/g, '\n').includes(want)) return fenceLanguage(e.document.languageId);
    }
    return null;
  }
}
