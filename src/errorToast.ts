import * as vscode from 'vscode';

/** The text of anything thrown. PeerChatError messages already name what failed and where. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The one way a failure reaches the user: a `PeerChat: …` error toast, and a log line naming the
 * action (`what`) so the log says which command or handler it came from.
 */
export function showError(what: string, log: vscode.LogOutputChannel, err: unknown): void {
  log.error(`${what}: ${errorText(err)}`);
  void vscode.window.showErrorMessage(`PeerChat: ${errorText(err)}`);
}

/**
 * Wraps a user action so that a failure goes through showError and the action resolves to
 * undefined: an unhandled rejection from a command or a webview handler would only reach the
 * extension host's console, where no user looks.
 */
export function withErrorToast<A extends unknown[], R>(what: string, log: vscode.LogOutputChannel, fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R | undefined> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      showError(what, log, err);
      return undefined;
    }
  };
}
