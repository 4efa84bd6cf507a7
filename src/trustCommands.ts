/** The commands about keys: copy your fingerprint, verify a peer, accept a peer's new key. */
import * as vscode from 'vscode';
import { argAddress, CommandContext, PeerArg, pickPeer } from './commands';
import { withErrorToast } from './errorToast';

export function registerTrustCommands(ctx: CommandContext): vscode.Disposable {
  const { node } = ctx;
  const reg = (id: string, fn: (...args: never[]) => unknown) => vscode.commands.registerCommand(id, withErrorToast(id, ctx.log, fn));
  return vscode.Disposable.from(
    reg('peerchat.copyMyFingerprint', async () => {
      await vscode.env.clipboard.writeText(node.fingerprint);
      void vscode.window.showInformationMessage(`PeerChat: copied your fingerprint ${node.fingerprint}. A peer who sees this fingerprint for you is talking to you.`);
      return node.fingerprint;
    }),

    // Returns what it showed, so tests (and other extensions) can compare it.
    reg('peerchat.verifyPeer', async (arg?: PeerArg) => {
      const address = argAddress(arg) ?? (await pickPeer(ctx, 'Verify Peer', (p) => p.protocol === 'native', false));
      if (!address) return undefined;
      const sn = node.safetyNumber(address);
      const peer = node.peerViews().find((p) => p.address === sn.peer);
      const name = peer?.name ?? sn.peer;
      const detail =
        `Safety number with ${name}:\n\n${sn.number}\n\n` +
        `Compare it with ${name}: read it out loud, or over another channel you trust (not this chat). ` +
        `${name} runs PeerChat: Verify Peer… on you and must see the same twelve groups. ` +
        `If they match, nobody sits between you. If they differ, do not mark it verified.`;
      const mark = peer?.verified ? 'Remove Verification' : 'Mark as Verified';
      const choice = await vscode.window.showInformationMessage(`PeerChat: verify ${name}`, { modal: true, detail }, mark);
      if (choice === mark) node.setVerified(sn.peer, !peer?.verified);
      return { ...sn, verified: node.peers.get(sn.peer)?.verified === true };
    }),

    reg('peerchat.trustNewIdentity', async (arg?: PeerArg) => {
      const address = argAddress(arg) ?? (await pickPeer(ctx, 'Trust New Identity', (p) => p.identityChanged === true, false));
      if (!address) return undefined;
      const peer = node.peers.get(address);
      const yes = 'Trust the New Key';
      const choice = await vscode.window.showWarningMessage(
        `PeerChat: trust the new key at ${address}?`,
        {
          modal: true,
          detail: `Another key answered at ${address}, not the one you talked to before. This happens when ${peer?.name ?? 'the peer'} reinstalled PeerChat or deleted its data, and also when someone else took the address. Ask them (not in this chat) before you trust it. Messages queued for the old key stay queued for it.`,
        },
        yes,
      );
      if (choice !== yes) return undefined;
      return node.trustNewIdentity(address).nodeId;
    }),
  );
}
