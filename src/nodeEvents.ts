import * as vscode from 'vscode';
import { NodeEvents, PeerNode } from './core/node';

/**
 * `node.on(event, listener)` as a vscode.Disposable. A late event (a socket error logged after
 * shutdown) must not reach an output channel or a view that is already disposed.
 */
export function onNodeEvent<K extends keyof NodeEvents>(node: PeerNode, event: K, listener: (...args: NodeEvents[K]) => void): vscode.Disposable {
  // @types/node's listener type is conditional on K and does not reduce while K is generic;
  // for every concrete K it is exactly the signature above.
  const fn = listener as Parameters<typeof node.on<K>>[1];
  node.on(event, fn);
  return { dispose: () => void node.off(event, fn) };
}

/**
 * Runs `fn` once, `ms` after the first of a burst of calls. Disposing drops a pending run, so
 * nothing touches the views after they are gone.
 */
export function coalesce(ms: number, fn: () => void): (() => void) & vscode.Disposable {
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      fn();
    }, ms);
  };
  return Object.assign(schedule, { dispose: () => clearTimeout(timer) });
}
