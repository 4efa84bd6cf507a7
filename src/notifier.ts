import * as vscode from 'vscode';
import { ChatMessage } from './core/chatTypes';

/** What the notifier needs of the chat view. */
export interface ChatSurface {
  readonly isVisible: boolean;
  show(conversation?: string): Promise<void>;
}

/**
 * Notifications for messages that arrive while the chat is hidden: one toast at a time, then one
 * "N more" toast, so a burst of messages does not bury the workbench in toasts.
 */
export class MessageNotifier implements vscode.Disposable {
  private showing = false;
  private missed = 0;
  private disposed = false;

  constructor(
    private readonly chat: ChatSurface,
    private readonly enabled: () => boolean,
  ) {}

  onMessage(m: ChatMessage): void {
    if (this.disposed || m.direction !== 'in' || !this.enabled()) return;
    if (this.chat.isVisible) return; // the user can see it already
    if (this.showing) {
      this.missed++;
      return;
    }
    this.showing = true;
    const text = m.text.length > 120 ? `${m.text.slice(0, 120)}…` : m.text;
    void vscode.window.showInformationMessage(`PeerChat — ${m.name}: ${text.replace(/\s+/g, ' ')}`, 'Open Chat').then((choice) => {
      this.showing = false;
      // A toast can outlive a reload; its button must not reach the old, disposed view.
      if (this.disposed) return;
      if (choice) void this.chat.show(m.conversation);
      if (this.missed > 0) {
        const n = this.missed;
        this.missed = 0;
        void vscode.window.showInformationMessage(`PeerChat: ${n} more message${n === 1 ? '' : 's'} arrived.`, 'Open Chat').then((c) => {
          if (c && !this.disposed) void this.chat.show();
        });
      }
    });
  }

  dispose(): void {
    this.disposed = true;
  }
}
