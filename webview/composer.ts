/**
 * The input box: Enter sends, Shift+Enter adds a line; a draft per conversation; the placeholder;
 * lines of code pasted from an editor arrive wrapped in a fence with the editor's language.
 */
import { fenceLanguage, formatSnippet } from '../src/protocol/snippet';
import { MAX_COMPOSER_TEXT } from '../src/protocol/webviewMessages';
import type { ChatModel } from './chatModel';
import type { Host } from './host';
import type { StateSaver } from './persist';

/** How long a paste waits for the host to say which editor it came from. */
const PASTE_WAIT_MS = 400;

export class Composer {
  private pasteSerial = 0;
  private pasting: { id: number; text: string; start: number; end: number; timer: ReturnType<typeof setTimeout> } | undefined;

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
    input.addEventListener('paste', (e) => this.onPaste(e));
  }

  private onPaste(e: ClipboardEvent): void {
    const text = e.clipboardData?.getData('text/plain') ?? '';
    if (!/\S[^\n]*\n[^\n]*\S/.test(text) || /^\s*(```|~~~)/.test(text) || this.insideFence()) return;
    e.preventDefault();
    // VS Code's editor puts its language beside the text; when the webview cannot see it, the
    // host says whether an open editor holds these lines.
    let mode: string | undefined;
    try {
      mode = (JSON.parse(e.clipboardData?.getData('vscode-editor-data') || 'null') as { mode?: unknown } | null)?.mode as string | undefined;
    } catch {
      mode = undefined;
    }
    const start = this.input.selectionStart;
    const end = this.input.selectionEnd;
    if (typeof mode === 'string') return this.insert(formatSnippet(text, fenceLanguage(mode)), start, end);
    if (this.pasting) this.finishPaste(null);
    const id = ++this.pasteSerial;
    this.pasting = { id, text, start, end, timer: setTimeout(() => this.finishPaste(null), PASTE_WAIT_MS) };
    this.host.post({ type: 'paste', id, text });
  }

  /** The host's answer to a paste: the editor's language, or null (not from an editor: plain text). */
  pasteAnswered(id: number, lang: string | null): void {
    if (this.pasting?.id === id) this.finishPaste(lang);
  }

  private finishPaste(lang: string | null): void {
    const p = this.pasting;
    if (!p) return;
    this.pasting = undefined;
    clearTimeout(p.timer);
    this.insert(lang === null ? p.text : formatSnippet(p.text, lang), p.start, p.end);
  }

  private insert(text: string, start: number, end: number): void {
    const before = this.input.value.slice(0, start);
    // A fence must start on a line of its own.
    const lead = text.startsWith('```') && before && !before.endsWith('\n') ? '\n' : '';
    this.input.setRangeText(lead + text, start, end, 'end');
    this.input.dispatchEvent(new Event('input'));
  }

  /** Whether the cursor is inside a fence already typed: pasting there is pasting code as is. */
  private insideFence(): boolean {
    const before = this.input.value.slice(0, this.input.selectionStart);
    return (before.match(/^(```|~~~)/gm)?.length ?? 0) % 2 === 1;
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
