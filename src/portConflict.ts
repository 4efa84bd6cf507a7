import * as net from 'node:net';
import * as vscode from 'vscode';
import { SECTION } from './config';
import { PeerChatError } from './core/errors';
import { showError } from './errorToast';

/** How many ports above the configured one are tried before giving up on offering one. */
const SEARCH_SPAN = 50;

/**
 * What happens when the node cannot listen. A port in use is the common case (a second VS Code
 * window with the same settings), so it gets a plain explanation and a free port nearby with one
 * click; any other failure is an ordinary error toast.
 */
export async function handleListenError(err: unknown, listen: { host: string; port: number }, log: vscode.LogOutputChannel): Promise<void> {
  const e = err as PeerChatError | undefined;
  if (e?.code !== 'ERR_PORT_IN_USE') {
    showError(`listen on ${listen.host}:${listen.port}`, log, err);
    return;
  }
  log.warn(`listen on ${listen.host}:${listen.port}: ${e.message}`);
  const free = await findFreePort(listen.host, listen.port + 1);
  const use = free ? `Use Port ${free}` : undefined;
  const choice = await vscode.window.showErrorMessage(
    `PeerChat: ${e.message}. Another program (or another VS Code window) uses it.`,
    ...(use ? [use] : []),
    'Open Settings',
  );
  if (choice === use && free) {
    // The workspace, when there is one: another window on another folder keeps its own port.
    const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    await vscode.workspace.getConfiguration(SECTION).update('port', free, target);
  } else if (choice === 'Open Settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.port`);
  }
}

/** The first port from `from` on that `host` lets us bind; undefined when none in the span does. */
async function findFreePort(host: string, from: number): Promise<number | undefined> {
  for (let p = from; p < from + SEARCH_SPAN && p <= 65535; p++) if (await canListen(host, p)) return p;
  return undefined;
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}
