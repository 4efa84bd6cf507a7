/** Block Peer and Unblock Peer: the block list from the palette and the Peers view. */
import * as vscode from 'vscode';
import type { CommandContext, PeerArg } from './commands';
import type { PeerView } from './core/chatTypes';
import { parseBlockTarget } from './core/peers/blocklist';
import { errorText, withErrorToast } from './errorToast';

/** A PeerChat peer is blocked by its key, which it keeps whatever address it uses; a classic one by its address. */
function targetOf(p: PeerView): string {
  return p.protocol === 'native' && p.nodeId ? `node:${p.nodeId}` : p.address;
}

function validateTarget(v: string): string | undefined {
  if (!v.trim()) return 'Enter HOST:PORT, an IP, or a node id';
  try {
    parseBlockTarget(v);
    return undefined;
  } catch (err) {
    return errorText(err);
  }
}

async function askTarget(ctx: CommandContext): Promise<string | undefined> {
  type Item = vscode.QuickPickItem & { target?: string };
  const items: Item[] = ctx.node.peerViews().map((p) => ({ label: p.name, description: `${p.address} · ${p.state}${p.protocol === 'native' ? ' · by its key' : ''}`, target: targetOf(p) }));
  items.push({ label: '$(edit) Enter an address, IP or node id…' });
  const pick = await vscode.window.showQuickPick(items, { title: 'Block Peer', placeHolder: 'Choose a peer to block', matchOnDescription: true });
  if (!pick) return undefined;
  if (pick.target) return pick.target;
  const v = await vscode.window.showInputBox({
    title: 'Block Peer',
    prompt: 'HOST:PORT blocks one address, an IP every connection from that machine, a node id one PeerChat key',
    placeHolder: '192.168.1.20:47100, 192.168.1.20, or node:ID',
    validateInput: validateTarget,
    ignoreFocusOut: true,
  });
  return v?.trim() || undefined;
}

export function registerBlockCommands(ctx: CommandContext): vscode.Disposable {
  const { node } = ctx;
  const reg = (id: string, fn: (...args: never[]) => unknown) => vscode.commands.registerCommand(id, withErrorToast(id, ctx.log, fn));
  return vscode.Disposable.from(
    // No confirmation: blocking is undone in one step, which the toast offers.
    reg('peerchat.blockPeer', async (arg?: PeerArg) => {
      const target = arg && typeof arg === 'object' ? targetOf(arg) : typeof arg === 'string' ? arg : await askTarget(ctx);
      if (!target) return undefined;
      const r = node.block(target);
      const who = r.label ? `${r.label} (${r.target})` : r.target;
      const queued = r.queued ? ` ${r.queued} queued message${r.queued === 1 ? '' : 's'} for it stay in the outbox until you cancel them (Show Outbox).` : '';
      const undo = 'Undo';
      void vscode.window
        .showInformationMessage(`PeerChat: blocked ${who}${r.removed.length ? ' and removed it from Peers' : ''}: nothing from it is shown and it is never contacted.${queued} To undo: PeerChat: Unblock Peer…`, undo)
        .then((choice) => {
          if (choice !== undo) return;
          try {
            node.unblock(r.target);
          } catch (err) {
            void vscode.window.showErrorMessage(`PeerChat: could not unblock ${r.target}: ${errorText(err)}`);
          }
        });
      return r;
    }),

    reg('peerchat.unblockPeer', async (arg?: string) => {
      let target = typeof arg === 'string' ? arg : undefined;
      if (!target) {
        const list = node.blocked();
        if (list.length === 0) {
          void vscode.window.showInformationMessage('PeerChat: nothing is blocked.');
          return undefined;
        }
        type Item = vscode.QuickPickItem & { target: string };
        const kinds = { ip: 'every connection from this IP', address: 'this address', node: 'this PeerChat key' };
        const pick = await vscode.window.showQuickPick<Item>(
          list.map((b) => ({ label: b.label ?? b.target, description: b.label ? b.target : undefined, detail: `${kinds[b.kind]}, blocked ${new Date(b.added).toLocaleString()}`, target: b.target })),
          { title: 'Unblock Peer', placeHolder: 'Choose what to unblock', matchOnDescription: true },
        );
        target = pick?.target;
      }
      if (!target) return undefined;
      const r = node.unblock(target);
      if (!r) {
        void vscode.window.showWarningMessage(`PeerChat: ${target} is not blocked.`);
        return undefined;
      }
      void vscode.window.showInformationMessage(`PeerChat: unblocked ${r.target}${r.restored.length ? `; ${r.restored.join(', ')} back in Peers` : ''}.`);
      return r;
    }),
  );
}
