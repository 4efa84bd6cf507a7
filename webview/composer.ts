/** The input box: Enter sends, Shift+Enter adds a line; a draft per conversation; the placeholder. */
import { MAX_COMPOSER_TEXT } from '../src/protocol/webviewMessages';
import type { ChatModel } from './chatModel';
import type { Host } from './host';
import type { StateSaver } from './persist';

export class Composer {
  constructor(
    form: HTMLFormElement,
    private readonly input: HTMLTextAreaElement,
    private readonly model: ChatModel,
    private readonly host: Host,
    private readonly saver: StateSaver,
    /** Called after a message went to the host (the log follows it). */
    private readonly onSent: () => void,
  ) {
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    });
    input.addEventListener('input', () => {
      model.persisted.drafts[model.current] = input.value;
    });
    input.value = model.persisted.drafts[model.current] ?? '';
  }

  /** Keeps the draft of the conversation left, shows the draft of `next` and focuses the box. */
  switchTo(next: string): void {
    const drafts = this.model.persisted.drafts;
    drafts[this.model.current] = this.input.value;
    this.input.value = drafts[next] ?? '';
  }

  focus(): void {
    this.input.focus();
  }

  /** Names the conversation on screen; set only when it changes. */
  renderPlaceholder(): void {
    const placeholder = `Message ${this.model.title(this.model.current)} (Enter to send, Shift+Enter for a new line)`;
    if (this.input.placeholder !== placeholder) this.input.placeholder = placeholder;
  }

  private send(): void {
    const input = this.input;
    const text = input.value;
    if (text.trim() === '') return;
    if (text.length > MAX_COMPOSER_TEXT) {
      input.setCustomValidity(`At most ${MAX_COMPOSER_TEXT} characters`);
      input.reportValidity();
      return;
    }
    input.setCustomValidity('');
    const conversation = this.model.current;
    this.host.post({ type: 'send', conversation, text });
    input.value = '';
    this.model.persisted.drafts[conversation] = '';
    this.onSent();
    this.saver.save();
  }
}
