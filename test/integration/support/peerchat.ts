// The extension under test, as the integration suites start from it: activated, its node
// started, and where its terminal peer lives (the same build, dist/cli.js).
import * as path from 'path';
import * as vscode from 'vscode';
import type { PeerChatApi } from '../../../src/extension';
import { until } from '../../support/until';

export async function startedPeerChat(): Promise<{ api: PeerChatApi; cliPath: string }> {
  const ext = vscode.extensions.getExtension<PeerChatApi>('peerchat.peerchat')!;
  await ext.activate();
  // One object for the extension's lifetime: api.node is the current node.
  const api = ext.exports;
  await api.started;
  return { api, cliPath: path.join(ext.extensionPath, 'dist', 'cli.js') };
}

/** until() whose timeout message ends with `describe()`: the state to look at when it fails. */
export function untilDescribed(describe: () => string) {
  return <T>(what: string, f: () => T | undefined | false, ms = 8000): Promise<T> => until(what, f, ms, describe);
}
