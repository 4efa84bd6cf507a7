/** Requests the chat's code blocks make of the host, and the host's answers routed back to them. */
import type { CodeLocation } from '../src/protocol/snippet';
import type { SnippetStatus, WebviewToHost } from '../src/protocol/webviewMessages';
import type { Host } from './host';
import type { CodeActions } from './markdownDom';

/** Unanswered requests kept: a host that never answers must not grow the map. */
const MAX_PENDING = 500;

export class CodeRequests implements CodeActions {
  private readonly pending = new Map<string, (s: SnippetStatus, detail?: string) => void>();

  constructor(private readonly host: Host) {}

  post(msg: WebviewToHost): void {
    this.host.post(msg);
  }

  check(key: string, location: CodeLocation, code: string, onStatus: (s: SnippetStatus, detail?: string) => void): void {
    if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value as string);
    this.pending.set(key, onStatus);
    this.host.post({ type: 'checkSnippet', key, location, code });
  }

  answered(key: string, status: SnippetStatus, detail?: string): void {
    const cb = this.pending.get(key);
    this.pending.delete(key);
    cb?.(status, detail);
  }
}
