import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChatMessage } from './chatTypes';
import { Identity } from './identity/identity';
import { OutboxEntry } from './native/outbox';
import { StoredPeer } from './peers/table';

/** Where the node keeps its peer directory and chat history. */
export interface Store {
  loadPeers(): StoredPeer[];
  savePeers(peers: StoredPeer[]): void;
  loadHistory(): ChatMessage[];
  /** Appends messages (new ones and state updates: the last record of an id wins). */
  appendHistory(messages: ChatMessage[]): void;
  /** Rewrites history to exactly these messages (after trimming). */
  rewriteHistory(messages: ChatMessage[]): void;
  loadOutbox(): OutboxEntry[];
  saveOutbox(entries: OutboxEntry[]): void;
  /** This node's identity (key pair and certificate): the same every time for the same store. */
  loadIdentity(): Identity;
  flush(): void;
}

/**
 * Files in one folder: `peers.json` written atomically (temp + rename), and `history.jsonl`,
 * append-only JSON Lines compacted when it grows to twice the kept history. A torn last line
 * (crash mid-write) is skipped on load, never fatal.
 */
export class FileStore implements Store {
  private readonly peersFile: string;
  private readonly historyFile: string;
  private linesWritten = 0;

  constructor(
    readonly dir: string,
    private readonly maxHistory: number,
    private readonly onError: (msg: string) => void = () => {},
  ) {
    this.peersFile = path.join(dir, 'peers.json');
    this.historyFile = path.join(dir, 'history.jsonl');
  }

  loadPeers(): StoredPeer[] {
    const data = this.readJson(this.peersFile);
    return Array.isArray(data) ? (data as StoredPeer[]) : [];
  }

  savePeers(peers: StoredPeer[]): void {
    this.atomicWrite(this.peersFile, JSON.stringify(peers, null, 1));
  }

  loadOutbox(): OutboxEntry[] {
    const data = this.readJson(path.join(this.dir, 'outbox.json'));
    return Array.isArray(data) ? (data as OutboxEntry[]) : [];
  }

  saveOutbox(entries: OutboxEntry[]): void {
    this.atomicWrite(path.join(this.dir, 'outbox.json'), JSON.stringify(entries));
  }

  /** Kept in `identity/` beside the history: see Identity.load. */
  loadIdentity(): Identity {
    return Identity.load(this.dir);
  }

  private readJson(file: string): unknown {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(`could not read ${file}: ${String(err)}`);
      return undefined;
    }
  }

  loadHistory(): ChatMessage[] {
    let text: string;
    try {
      text = fs.readFileSync(this.historyFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(`could not read ${this.historyFile}: ${String(err)}`);
      return [];
    }
    // Read from the end: the last record of an id is its final state, and only the newest
    // maxHistory messages are kept, so a long file costs no more to open than a short one.
    const lines = text.split('\n');
    const byId = new Map<string, ChatMessage>();
    for (let i = lines.length - 1; i >= 0 && byId.size < this.maxHistory; i--) {
      const line = lines[i];
      if (!line) continue;
      try {
        const m = JSON.parse(line) as ChatMessage;
        if (m && typeof m.id === 'string' && typeof m.text === 'string' && !byId.has(m.id)) byId.set(m.id, m);
      } catch {
        // torn line from a crash: skip it
      }
    }
    this.linesWritten = lines.length;
    return [...byId.values()].sort((a, b) => a.ts - b.ts);
  }

  appendHistory(messages: ChatMessage[]): void {
    if (messages.length === 0) return;
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      fs.appendFileSync(this.historyFile, messages.map((m) => JSON.stringify(m)).join('\n') + '\n');
      this.linesWritten += messages.length;
    } catch (err) {
      this.onError(`could not write ${this.historyFile}: ${String(err)}`);
    }
  }

  /** True when the file has grown enough that it should be rewritten. */
  needsCompaction(): boolean {
    return this.linesWritten > this.maxHistory * 2;
  }

  rewriteHistory(messages: ChatMessage[]): void {
    this.atomicWrite(this.historyFile, messages.map((m) => JSON.stringify(m)).join('\n') + (messages.length ? '\n' : ''));
    this.linesWritten = messages.length;
  }

  flush(): void {
    // Writes are synchronous; nothing is buffered.
  }

  private atomicWrite(file: string, data: string): void {
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, data);
      fs.renameSync(tmp, file);
    } catch (err) {
      this.onError(`could not write ${file}: ${String(err)}`);
    }
  }
}

/** A store that keeps nothing: for tests and for a window with no storage folder. */
export class MemoryStore implements Store {
  peers: StoredPeer[] = [];
  history: ChatMessage[] = [];
  loadPeers(): StoredPeer[] {
    return this.peers;
  }
  savePeers(peers: StoredPeer[]): void {
    this.peers = peers;
  }
  loadHistory(): ChatMessage[] {
    return this.history;
  }
  appendHistory(messages: ChatMessage[]): void {
    this.history.push(...messages);
  }
  rewriteHistory(messages: ChatMessage[]): void {
    this.history = [...messages];
  }
  outbox: OutboxEntry[] = [];
  private identity: Identity | undefined;
  loadOutbox(): OutboxEntry[] {
    return this.outbox;
  }
  saveOutbox(entries: OutboxEntry[]): void {
    this.outbox = entries;
  }
  /** Made in memory on first use, then the same for every node built on this store. */
  loadIdentity(): Identity {
    this.identity ??= Identity.create();
    return this.identity;
  }
  flush(): void {}
}
