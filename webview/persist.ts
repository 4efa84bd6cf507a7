/** What survives the webview being hidden and shown again, through getState/setState. */

export interface PersistedState {
  conversation: string;
  drafts: Record<string, string>;
  lastRead: Record<string, number>;
  /** Pixels from the bottom of the log when the view was hidden (0 = following new messages). */
  fromBottom?: number;
}

/** The part of the VS Code webview API that keeps state. */
export interface StateStore {
  getState(): unknown;
  setState(s: PersistedState): void;
}

/** Reads the saved state, keeping only fields of the right type (it may come from an older version). */
export function loadPersisted(store: StateStore, defaultConversation: string): PersistedState {
  const saved = store.getState() as Partial<PersistedState> | undefined;
  return {
    conversation: typeof saved?.conversation === 'string' ? saved.conversation : defaultConversation,
    drafts: typeof saved?.drafts === 'object' && saved.drafts ? saved.drafts : {},
    lastRead: typeof saved?.lastRead === 'object' && saved.lastRead ? saved.lastRead : {},
    fromBottom: typeof saved?.fromBottom === 'number' ? saved.fromBottom : 0,
  };
}

/** How long a change waits before it is saved (so at most twice a second). */
const SAVE_DELAY_MS = 500;

/**
 * Saves `state` when it changed. setState goes through the workbench, which in code-server shares
 * this thread: during a burst, saving once per frame slowed every message, so it is saved only
 * when it changed and at most twice a second.
 */
export class StateSaver {
  private lastSaved = '';
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly store: StateStore,
    private readonly state: PersistedState,
  ) {}

  /** Saves within SAVE_DELAY_MS, or at once with `now` (the view is being hidden). */
  save(now = false): void {
    if (now) {
      clearTimeout(this.timer);
      this.write();
    } else {
      this.timer ??= setTimeout(() => this.write(), SAVE_DELAY_MS);
    }
  }

  private write(): void {
    this.timer = undefined;
    const json = JSON.stringify(this.state);
    if (json === this.lastSaved) return;
    this.lastSaved = json;
    this.store.setState(this.state);
  }
}
