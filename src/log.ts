import * as vscode from 'vscode';
import { LogLevel } from './core/node';

/** The "PeerChat" log channel: what happens on the wire. */
export function createLog(): vscode.LogOutputChannel {
  return vscode.window.createOutputChannel('PeerChat', { log: true });
}

export function writeLog(log: vscode.LogOutputChannel, level: LogLevel, text: string): void {
  switch (level) {
    case 'trace':
      log.trace(text);
      break;
    case 'info':
      log.info(text);
      break;
    case 'warn':
      log.warn(text);
      break;
    case 'error':
      log.error(text);
      break;
  }
}
