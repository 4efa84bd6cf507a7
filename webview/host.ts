/** Messaging with the extension host: typed posts out, guarded messages in, the `ready` handshake. */
import { isHostToWebview, type HostToWebview, type WebviewToHost } from '../src/protocol/webviewMessages';

/** The part of the VS Code webview API that posts to the host. */
export interface PostTarget {
  postMessage(msg: WebviewToHost): void;
}

export class Host {
  constructor(private readonly target: PostTarget) {}

  post(msg: WebviewToHost): void {
    this.target.postMessage(msg);
  }

  /**
   * Hands every message from the host that passes the guard to `handler`; anything else (another
   * shape, another sender's junk) is ignored. Call before `ready` so nothing sent in reply is missed.
   */
  listen(handler: (msg: HostToWebview) => void): void {
    window.addEventListener('message', (e: MessageEvent) => {
      if (isHostToWebview(e.data)) handler(e.data);
    });
  }

  /** The host buffers until it hears `ready`, then sends the full state (`init`). */
  ready(viewing: string | null): void {
    this.post({ type: 'ready' });
    this.viewing(viewing);
  }

  /** The conversation the user looks at, or null when the view is hidden (read receipts). */
  viewing(conversation: string | null): void {
    this.post({ type: 'viewing', conversation });
  }
}
