import * as vscode from 'vscode';
import { parseAddress } from './core/address';
import { DIALECT_LABELS, DIALECT_NAMES } from './core/classic/dialects';
import { EVERYONE, PeerView } from './core/chatTypes';
import { PeerNode, PeerResult } from './core/node';
import { PeerChatConfig } from './config';
import { errorText, withErrorToast } from './errorToast';

/** What the command handlers need from the composition root. */
export interface CommandContext {
  node: PeerNode;
  config(): PeerChatConfig;
  showChat(conversation?: string): Promise<void>;
  startNode(): Promise<void>;
  log: vscode.LogOutputChannel;
}

/** A command's argument: a tree row (PeerView), an address string, or nothing (prompt). */
export type PeerArg = PeerView | string | undefined;

export function argAddress(arg: PeerArg): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && typeof arg.address === 'string') return arg.address;
  return undefined;
}

function validateAddressInput(v: string): string | undefined {
  if (!v.trim()) return 'Enter host:port, for example 192.168.1.20:47100';
  try {
    parseAddress(v);
    return undefined;
  } catch (err) {
    return errorText(err);
  }
}

async function askAddress(prompt: string): Promise<string | undefined> {
  const v = await vscode.window.showInputBox({
    title: 'PeerChat',
    prompt,
    placeHolder: 'host:port, for example 192.168.1.20:47100',
    validateInput: validateAddressInput,
    ignoreFocusOut: true,
  });
  return v?.trim() || undefined;
}

export async function pickPeer(ctx: CommandContext, title: string, filter: (p: PeerView) => boolean, allowOther: boolean): Promise<string | undefined> {
  const peers = ctx.node.peerViews().filter(filter);
  if (peers.length === 0 && !allowOther) {
    void vscode.window.showInformationMessage('PeerChat: no peers to choose from.');
    return undefined;
  }
  type Item = vscode.QuickPickItem & { address?: string };
  const items: Item[] = peers.map((p) => ({ label: p.name, description: `${p.address} · ${p.state}`, address: p.address }));
  if (allowOther) items.push({ label: '$(edit) Enter an address…' });
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: 'Choose a peer', matchOnDescription: true });
  if (!pick) return undefined;
  return pick.address ?? askAddress('Address of the peer');
}

function summarize(what: string, results: PeerResult[]): void {
  const failed = results.filter((r) => !r.ok);
  if (results.length === 0) {
    void vscode.window.showWarningMessage(`PeerChat: ${what}: no peers yet.`);
  } else if (failed.length === 0) {
    void vscode.window.showInformationMessage(`PeerChat: ${what} to ${results.length} peer${results.length === 1 ? '' : 's'}.`);
  } else {
    void vscode.window.showWarningMessage(
      `PeerChat: ${what}: ${results.length - failed.length} of ${results.length} delivered. ${failed.map((f) => `${f.peer}: ${f.error}`).join('; ')}`,
    );
  }
}

/** Registers every command; disposing the result unregisters them all. */
export function registerCommands(ctx: CommandContext): vscode.Disposable {
  const { node } = ctx;
  const reg = (id: string, fn: (...args: never[]) => unknown) => vscode.commands.registerCommand(id, withErrorToast(id, ctx.log, fn));

  return vscode.Disposable.from(
    reg('peerchat.connect', async (arg?: PeerArg) => {
      const address = argAddress(arg) ?? (await askAddress('Connect to a peer: its host:port'));
      if (!address) return undefined;
      const r = await node.connect(address);
      if (r.ok) void vscode.window.showInformationMessage(`PeerChat: connected to ${r.peer}.`);
      else void vscode.window.showErrorMessage(`PeerChat: could not connect to ${r.peer}: ${r.error}`);
      return r;
    }),

    reg('peerchat.sendMessage', async (arg?: PeerArg, textArg?: string) => {
      const fromTree = arg !== undefined && typeof arg === 'object';
      if (fromTree && textArg === undefined) {
        await ctx.showChat((arg as PeerView).conversation ?? argAddress(arg));
        return undefined;
      }
      const address = argAddress(arg) ?? (await pickPeer(ctx, 'Send Message', (p) => p.state !== 'gone', true));
      if (!address) return undefined;
      const text =
        textArg ??
        (await vscode.window.showInputBox({
          title: `Message to ${address}`,
          prompt: 'Message text',
          validateInput: (v) => (v.trim() ? undefined : 'The message is empty'),
        }));
      if (!text) return undefined;
      const { message, result } = await node.send(address, text);
      if (!result.ok) void vscode.window.showErrorMessage(`PeerChat: not delivered to ${result.peer}: ${result.error}`);
      else if (result.queued) void vscode.window.showInformationMessage(`PeerChat: ${result.peer} is away; the message waits in the outbox and goes when it is back.`);
      return { ...result, id: message.id };
    }),

    reg('peerchat.broadcast', async (textArg?: string) => {
      const text =
        typeof textArg === 'string'
          ? textArg
          : await vscode.window.showInputBox({
              title: 'Broadcast Message',
              prompt: `Send to every known peer (${node.peerViews().filter((p) => p.state !== 'gone').length})`,
              validateInput: (v) => (v.trim() ? undefined : 'The message is empty'),
            });
      if (!text) return undefined;
      const { results } = await node.broadcast(text);
      summarize('broadcast', results);
      return results;
    }),

    reg('peerchat.disconnect', async (arg?: PeerArg) => {
      const address = argAddress(arg) ?? (await pickPeer(ctx, 'Disconnect Peer', (p) => p.state === 'connected', false));
      if (!address) return undefined;
      return node.disconnect(address, ctx.config().sendExitOnDisconnect);
    }),

    reg('peerchat.connectAll', async () => {
      const results = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'PeerChat: connecting to known peers…' },
        () => node.connectAll(),
      );
      summarize('connected', results);
      return results;
    }),

    reg('peerchat.removeInactive', async () => {
      const r = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'PeerChat: probing peers with PING…' },
        () => node.pruneInactive(true),
      );
      void vscode.window.showInformationMessage(
        r.inactive.length ? `PeerChat: removed ${r.inactive.length} inactive peer${r.inactive.length === 1 ? '' : 's'}: ${r.inactive.join(', ')}.` : `PeerChat: all ${r.probed} peers answered.`,
      );
      return r;
    }),

    reg('peerchat.startNode', async () => {
      await ctx.startNode();
      return node.status;
    }),

    reg('peerchat.stopNode', async () => {
      await node.stop();
      return node.status;
    }),

    reg('peerchat.openChat', async (conversation?: string) => {
      await ctx.showChat(typeof conversation === 'string' ? conversation : undefined);
    }),

    reg('peerchat.openConversation', async (address?: string) => {
      await ctx.showChat(typeof address === 'string' ? address : EVERYONE);
    }),

    reg('peerchat.copyMyAddress', async () => {
      await vscode.env.clipboard.writeText(node.address);
      void vscode.window.showInformationMessage(`PeerChat: copied ${node.address} (${node.name}).`);
      return node.address;
    }),

    reg('peerchat.copyPeerAddress', async (arg?: PeerArg) => {
      const address = argAddress(arg);
      if (!address) return undefined;
      await vscode.env.clipboard.writeText(address);
      return address;
    }),

    reg('peerchat.removePeer', async (arg?: PeerArg) => {
      const address = argAddress(arg) ?? (await pickPeer(ctx, 'Remove Peer', () => true, false));
      if (!address) return false;
      return node.removePeer(address);
    }),

    reg('peerchat.showOutbox', async () => {
      const entries = node.outboxEntries();
      if (entries.length === 0) {
        void vscode.window.showInformationMessage('PeerChat: the outbox is empty: nothing waits for an absent peer.');
        return entries;
      }
      type Item = vscode.QuickPickItem & { id: string };
      const pick = await vscode.window.showQuickPick<Item>(
        entries.map((e) => ({ id: e.message.id, label: e.message.text.replace(/\s+/g, ' ').slice(0, 80), description: `→ ${e.recipient}`, detail: `${e.message.state} since ${new Date(e.message.ts).toLocaleString()}` })),
        { title: 'Outbox: messages waiting for peers that are away', placeHolder: 'Choose a message to cancel it' },
      );
      if (pick && (await vscode.window.showWarningMessage(`Cancel "${pick.label}"?`, 'Cancel Message')) === 'Cancel Message') node.cancel(pick.id);
      return entries;
    }),

    reg('peerchat.setDialect', async (arg?: PeerArg, dialectArg?: string) => {
      const address = argAddress(arg) ?? (await pickPeer(ctx, 'Set Peer Dialect', (p) => p.protocol !== 'native', true));
      if (!address) return undefined;
      let dialect = dialectArg;
      if (!dialect) {
        const current = node.peerViews().find((p) => p.address === address)?.dialect;
        const pick = await vscode.window.showQuickPick(
          DIALECT_NAMES.map((d) => ({ label: d, description: DIALECT_LABELS[d], picked: d === current })),
          { title: `How ${address} reads messages`, placeHolder: 'PeerChat writes to this peer in the form you choose' },
        );
        dialect = pick?.label;
      }
      if (!dialect) return undefined;
      const rec = node.setDialect(address, dialect);
      void vscode.window.showInformationMessage(`PeerChat: ${rec.name} (${rec.address}) now gets messages in the ${DIALECT_LABELS[dialect as keyof typeof DIALECT_LABELS] ?? dialect} form.`);
      return rec.dialect;
    }),

    reg('peerchat.showLog', () => ctx.log.show()),
  );
}
