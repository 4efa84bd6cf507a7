import * as vscode from 'vscode';

/**
 * Owns disposables and disposes them in reverse order of registration, so that what was built on
 * top of something (a listener on the node, a view over a provider) goes before it. Disposing
 * twice is harmless: reload() and VS Code's own subscriptions may both reach the same object.
 */
export class Disposable implements vscode.Disposable {
  private owned: vscode.Disposable[] = [];
  private disposed = false;

  /** Takes ownership of `d`; if this is already disposed, `d` is disposed at once (it would leak otherwise). */
  register<T extends vscode.Disposable>(d: T): T {
    if (this.disposed) d.dispose();
    else this.owned.push(d);
    return d;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const owned = this.owned;
    this.owned = [];
    // One failing dispose must not leave the rest (sockets, timers, listeners) behind.
    const errors: unknown[] = [];
    for (let i = owned.length - 1; i >= 0; i--) {
      try {
        owned[i].dispose();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} disposables failed to dispose`);
  }
}
