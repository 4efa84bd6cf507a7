/**
 * Share Selection and Share Location: lines of the editor go to a conversation as a snippet
 * (a fenced block naming the language and the place, see protocol/snippet.ts), one block per
 * selection; an empty selection shares the line's location. Open Chat in Editor lives here too.
 */
import * as vscode from 'vscode';
import type { CommandContext } from './commands';
import { EVERYONE } from './core/chatTypes';
import { errorText } from './errorToast';
import { fenceLanguage, formatLocation, snippetMessage } from './protocol/snippet';
import type { ChatViewProvider } from './views/chatView';

export interface ShareContext extends CommandContext {
  chat: ChatViewProvider;
}

/** The path others see: relative to the file's workspace folder, forward slashes. */
export function sharedPath(uri: vscode.Uri): string {
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  const rel = folder ? vscode.workspace.asRelativePath(uri, false) : uri.path.split('/').pop() ?? 'untitled';
  return rel.replace(/\\/g, '/');
}

/** The whole lines a selection covers: one ending at the start of a line leaves that line out. */
function linesOf(sel: vscode.Selection): { start: number; end: number } {
  const end = sel.end.character === 0 && sel.end.line > sel.start.line ? sel.end.line - 1 : sel.end.line;
  return { start: sel.start.line, end };
}

async function pickConversation(ctx: ShareContext, title: string): Promise<string | undefined> {
  type Item = vscode.QuickPickItem & { conversation: string };
  const peers = ctx.node.peerViews();
  const items: Item[] = peers.map((p) => ({ label: p.name, description: `${p.address} · ${p.state}`, conversation: p.conversation }));
  items.push({ label: '$(broadcast) Everyone', description: 'every peer', conversation: EVERYONE });
  const open = ctx.chat.lastConversation;
  const first = items.findIndex((i) => i.conversation === open);
  if (first > 0) items.unshift(...items.splice(first, 1));
  if (first >= 0) items[0].detail = 'the conversation open in the chat';
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: 'Send to…', matchOnDescription: true });
  return pick?.conversation;
}

async function send(ctx: ShareContext, conversation: string, text: string): Promise<void> {
  if (conversation === EVERYONE) await ctx.node.broadcast(text);
  else await ctx.node.send(conversation, text);
}

async function share(ctx: ShareContext, locationOnly: boolean): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('PeerChat: open a file and select the lines to share.');
    return;
  }
  const doc = editor.document;
  const path = sharedPath(doc.uri);
  const selections = locationOnly ? [] : editor.selections.filter((s) => !s.isEmpty);
  const title = selections.length ? `Share ${selections.length === 1 ? 'Selection' : `${selections.length} Selections`}` : 'Share Location';
  const conversation = await pickConversation(ctx, title);
  if (!conversation) return;
  const comment = await vscode.window.showInputBox({ title, prompt: 'A comment to send with it (optional)', placeHolder: 'Enter to send, Esc to cancel' });
  if (comment === undefined) return;
  const max = ctx.node.limits.maxOutgoingTextBytes;
  const texts: string[] = [];
  if (selections.length === 0) {
    const at = editor.selection.active;
    const loc = formatLocation({ path, start: at.line + 1, end: at.line + 1, column: at.character > 0 ? at.character + 1 : undefined });
    texts.push(comment ? `${comment} ${loc}` : loc);
  } else {
    const lang = fenceLanguage(doc.languageId);
    const sorted = [...selections].sort((a, b) => a.start.compareTo(b.start));
    sorted.forEach((sel, i) => {
      const { start, end } = linesOf(sel);
      const lines = Array.from({ length: end - start + 1 }, (_, k) => doc.lineAt(start + k).text);
      texts.push(snippetMessage(lines, start + 1, lang, path, i === 0 ? comment.trim() : '', max));
    });
  }
  try {
    for (const t of texts) await send(ctx, conversation, t);
  } catch (err) {
    void vscode.window.showErrorMessage(`PeerChat: could not share ${path}: ${errorText(err)}`);
    return;
  }
  await ctx.chat.show(conversation);
}

export function registerShareCommands(ctx: ShareContext): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.commands.registerCommand('peerchat.shareSelection', () => share(ctx, false)),
    vscode.commands.registerCommand('peerchat.shareLocation', () => share(ctx, true)),
    vscode.commands.registerCommand('peerchat.openChatInEditor', () => ctx.chat.openPanel()),
  );
}
