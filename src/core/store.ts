import * as fs from 'node:fs';
import * as path from 'node:path';
import { FILE_MODE, writeFileAtomic } from './atomicFile';
import { ChatMessage } from './chatTypes';
import { Identity } from './identity/identity';
import { DEFAULT_LIMITS } from './limits';
import type { OutboxEntry, OutboxRecord, OutboxStore } from './native/outbox';
import { OutboxJournal, OutboxLoadStats } from './outboxJournal';
import type { BlockEntry } from './peers/blocklist';
import { StoredPeer } from './peers/table';

/** Where the node keeps its peer directory and chat history. */
export interface Store extends OutboxStore {
  loadPeers(): StoredPeer[];
  savePeers(peers: StoredPeer[]): void;
  loadHistory(): ChatMessage[];
  /** Appends messages (new ones and state updates: the last record of an id wins). */
  appendHistory(messages: ChatMessage[]): void;
  /** Rewrites history to these messages (after trimming); a store may keep only the newest of
   *  them that fit its byte budget. */
  rewriteHistory(messages: ChatMessage[]): void;
  /** This node's identity (key pair and certificate): the same every time for the same store. */
  loadIdentity(): Identity;
  /** The block list (see peers/blocklist.ts); a store without these keeps it for the session only. */
  loadBlocked?(): BlockEntry[];
  saveBlocked?(entries: BlockEntry[]): void;
  flush(): void;
}

/** Tuning of a FileStore; the defaults come from DEFAULT_LIMITS. */
export interface FileStoreOptions {
  /** Bytes the history file may take on disk; past it the file is compacted (Limits.maxHistoryBytes). */
  maxHistoryBytes?: number;
  /** Bytes of history records read into memory at load (Limits.maxHistoryMemoryBytes). */
  maxHistoryMemoryBytes?: number;
  /** The history file is read backwards in pieces of this many bytes (default 1 MiB). */
  readChunkBytes?: number;
  /** A history line longer than this is no record of ours and is skipped unread (default 1 MiB:
   *  a 64 KiB text with every character escaped, its signature and key fit several times). */
  maxLineBytes?: number;
  /** The outbox journal is compacted only past this many bytes (default 256 KiB)… */
  outboxCompactMinBytes?: number;
  /** …and past this many times its live records (default 2). */
  outboxCompactFactor?: number;
}

/** What the last loadHistory did (for tests and diagnostics). */
export interface HistoryLoadStats {
  /** Bytes read from the file. */
  bytesRead: number;
  /** Size of the file. */
  fileBytes: number;
  /** Lines skipped: torn, not JSON, not a message, or longer than maxLineBytes. */
  skippedLines: number;
}

const DIR_MODE = 0o700;
const NEWLINE = 0x0a;

/**
 * Files in one folder (0700, its files 0600): `peers.json` written atomically (temp file + fsync +
 * rename + fsync of the folder), the outbox journal `outbox.jsonl` (see OutboxJournal), and `history.jsonl`, append-only JSON Lines
 * compacted when it holds twice the kept count or grows past its byte budget. The history is read
 * backwards in fixed-size pieces, so a huge file costs no more to open than the budget; a torn
 * last line (crash mid-write) is skipped on load and cut off before the next append; a file that
 * cannot be read at all is moved aside (`history.jsonl.unreadable-<ts>`), never written over.
 */
export class FileStore implements Store {
  private readonly peersFile: string;
  private readonly blockedFile: string;
  private readonly outbox: OutboxJournal;
  private readonly historyFile: string;
  private readonly maxHistoryBytes: number;
  private readonly maxHistoryMemoryBytes: number;
  private readonly readChunkBytes: number;
  private readonly maxLineBytes: number;
  private linesWritten = 0;
  /** Size of the history file as far as we know (stat at open, then our own writes). */
  private historyBytes = 0;
  private opened = false;
  /** The tail of the history file is known to end with a newline (or the file is empty). */
  private tailChecked = false;
  /** The history file could not be read nor moved aside: it is left alone, never written. */
  private historyBlocked = false;
  lastLoad: HistoryLoadStats = { bytesRead: 0, fileBytes: 0, skippedLines: 0 };

  constructor(
    readonly dir: string,
    private readonly maxHistory: number,
    private readonly onError: (msg: string) => void = () => {},
    options: FileStoreOptions = {},
  ) {
    this.peersFile = path.join(dir, 'peers.json');
    this.blockedFile = path.join(dir, 'blocked.json');
    this.outbox = new OutboxJournal(dir, onError, { compactMinBytes: options.outboxCompactMinBytes, compactFactor: options.outboxCompactFactor });
    this.historyFile = path.join(dir, 'history.jsonl');
    this.maxHistoryBytes = options.maxHistoryBytes ?? DEFAULT_LIMITS.maxHistoryBytes;
    this.maxHistoryMemoryBytes = options.maxHistoryMemoryBytes ?? DEFAULT_LIMITS.maxHistoryMemoryBytes;
    this.readChunkBytes = Math.max(16, options.readChunkBytes ?? 1024 * 1024);
    this.maxLineBytes = options.maxLineBytes ?? 1024 * 1024;
  }

  /** Once: the folder exists and is 0700, the files in it (ours and older ones) 0600. */
  private open(): void {
    if (this.opened) return;
    this.opened = true;
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: DIR_MODE });
      fs.chmodSync(this.dir, DIR_MODE);
      for (const name of fs.readdirSync(this.dir)) {
        if (name !== 'peers.json' && !name.startsWith('outbox.json') && !name.startsWith('history.jsonl') && !name.endsWith('.tmp')) continue;
        const file = path.join(this.dir, name);
        const st = fs.lstatSync(file);
        if (st.isFile() && (st.mode & 0o777) !== FILE_MODE) fs.chmodSync(file, FILE_MODE);
      }
    } catch (err) {
      this.onError(`could not secure ${this.dir}: ${String(err)}`);
    }
    try {
      this.historyBytes = fs.statSync(this.historyFile).size;
    } catch {
      this.historyBytes = 0;
    }
  }

  loadPeers(): StoredPeer[] {
    const data = this.readJson(this.peersFile);
    return Array.isArray(data) ? (data as StoredPeer[]) : [];
  }

  savePeers(peers: StoredPeer[]): void {
    this.atomicWrite(this.peersFile, JSON.stringify(peers, null, 1));
  }

  /** `blocked.json`, written whole (it is small and bounded) like peers.json. */
  loadBlocked(): BlockEntry[] {
    const data = this.readJson(this.blockedFile);
    return Array.isArray(data) ? (data as BlockEntry[]) : [];
  }

  saveBlocked(entries: BlockEntry[]): void {
    this.atomicWrite(this.blockedFile, JSON.stringify(entries, null, 1));
  }

  loadOutbox(): OutboxEntry[] {
    this.open();
    try {
      return this.outbox.load();
    } catch (err) {
      this.onError(String((err as Error).message ?? err));
      return [];
    }
  }

  /** Compaction of the outbox journal; throws when it could not be written (the journal stays). */
  saveOutbox(entries: OutboxEntry[]): void {
    this.open();
    this.outbox.compact(entries);
  }

  /** Throws when the records could not be written (Outbox fails those adds). */
  appendOutbox(records: OutboxRecord[], durable: boolean): boolean {
    this.open();
    return this.outbox.append(records, durable);
  }

  /** What the last loadOutbox found, and the journal's size (for tests and diagnostics). */
  outboxStats(): OutboxLoadStats & { journalBytes: number } {
    return { ...this.outbox.lastLoad, journalBytes: this.outbox.fileBytes };
  }

  /** Kept in `identity/` beside the history: see Identity.load. */
  loadIdentity(): Identity {
    this.open();
    return Identity.load(this.dir);
  }

  private readJson(file: string): unknown {
    this.open();
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(`could not read ${file}: ${String(err)}`);
      return undefined;
    }
  }

  /**
   * The newest messages, read from the end in pieces until maxHistory messages, the memory
   * budget or the disk budget is reached: the last record of an id is its final state.
   */
  loadHistory(): ChatMessage[] {
    this.open();
    this.lastLoad = { bytesRead: 0, fileBytes: 0, skippedLines: 0 };
    if (this.historyBlocked) return [];
    const byId = new Map<string, ChatMessage>();
    let keptBytes = 0;
    let completeLines = 0; // non-empty lines that ended with a newline
    let scanned = 0;
    let done = false;
    const stats = this.lastLoad;
    const take = (bytes: Buffer, complete: boolean): void => {
      if (bytes.length === 0) return;
      if (complete) completeLines++;
      let m: ChatMessage | undefined;
      try {
        m = JSON.parse(bytes.toString('utf8')) as ChatMessage;
      } catch {
        m = undefined; // torn line from a crash, or garbage: skip it
      }
      if (!m || typeof m !== 'object' || typeof m.id !== 'string' || typeof m.text !== 'string') {
        stats.skippedLines++;
        return;
      }
      if (byId.has(m.id)) return; // an older state of a message we already have
      if (keptBytes + bytes.length > this.maxHistoryMemoryBytes) {
        done = true;
        return;
      }
      byId.set(m.id, m);
      keptBytes += bytes.length;
      if (byId.size >= this.maxHistory) done = true;
    };
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.historyFile, 'r');
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw Object.assign(new Error(`${this.historyFile} is not a file`), { code: 'EISDIR' });
      const size = st.size;
      stats.fileBytes = size;
      this.historyBytes = size;
      let pos = size;
      // The line being assembled: pieces of it found so far, nearest the start first.
      let carry: Buffer[] = [];
      let carryLen = 0;
      let skipping = false; // the current line is longer than maxLineBytes: its bytes are dropped
      let first = true; // the first line found from the end has no newline after it (torn tail)
      while (pos > 0 && !done && scanned < this.maxHistoryBytes) {
        const len = Math.min(this.readChunkBytes, pos);
        pos -= len;
        const buf = Buffer.allocUnsafe(len);
        let got = 0;
        while (got < len) {
          const n = fs.readSync(fd, buf, got, len - got, pos + got);
          if (n === 0) throw new Error(`${this.historyFile} shrank while it was read`);
          got += n;
        }
        stats.bytesRead += len;
        scanned += len;
        let end = len;
        while (!done) {
          const nl = end > 0 ? buf.lastIndexOf(NEWLINE, end - 1) : -1;
          if (nl < 0) {
            if (!skipping && end > 0) {
              carry.unshift(buf.subarray(0, end));
              carryLen += end;
              if (carryLen > this.maxLineBytes) {
                carry = [];
                carryLen = 0;
                skipping = true;
              }
            }
            break;
          }
          if (skipping) stats.skippedLines++;
          else if (end - nl - 1 + carryLen > this.maxLineBytes) stats.skippedLines++;
          else take(carry.length ? Buffer.concat([buf.subarray(nl + 1, end), ...carry]) : buf.subarray(nl + 1, end), !first);
          first = false;
          carry = [];
          carryLen = 0;
          skipping = false;
          end = nl;
        }
      }
      if (pos === 0 && !done) {
        if (skipping) stats.skippedLines++;
        else if (carryLen > 0) take(Buffer.concat(carry), !first);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      this.moveAside(String(err));
      return [];
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    if (byId.size === 0 && completeLines > 0) {
      this.moveAside('it holds no chat message');
      return [];
    }
    // The lines seen; a file over its byte budget is compacted at the next write (needsCompaction).
    this.linesWritten = byId.size + stats.skippedLines;
    // File order for equal times (the map holds them newest first; the sort is stable).
    return [...byId.values()].reverse().sort((a, b) => a.ts - b.ts);
  }

  /** Renames an unreadable history file out of the way so that a new one starts; says so. */
  private moveAside(why: string): void {
    const aside = `${this.historyFile}.unreadable-${Date.now()}`;
    try {
      fs.renameSync(this.historyFile, aside);
      this.historyBytes = 0;
      this.linesWritten = 0;
      this.tailChecked = true;
      this.onError(`could not read the chat history (${why}): moved it to ${aside} and started a new history`);
    } catch (err) {
      this.historyBlocked = true;
      this.onError(`could not read the chat history (${why}) nor move it aside (${String(err)}): history is not saved until ${this.historyFile} is removed`);
    }
  }

  /**
   * A last line without its newline (power loss mid-write) is cut back to the previous newline,
   * so that the next record starts on a line of its own; a complete record that only lacks the
   * newline gets it.
   */
  private repairTail(): void {
    if (this.tailChecked) return;
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.historyFile, 'r+');
      const size = fs.fstatSync(fd).size;
      const last = Buffer.alloc(1);
      if (size === 0 || (fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === NEWLINE)) {
        this.tailChecked = true;
        return;
      }
      const cut = this.lastNewlineBefore(fd, size);
      const tail = size - cut <= this.maxLineBytes ? Buffer.alloc(size - cut) : undefined;
      if (tail) fs.readSync(fd, tail, 0, tail.length, cut);
      if (tail && isRecord(tail)) {
        fs.writeSync(fd, '\n', size);
        this.historyBytes = size + 1;
      } else {
        fs.ftruncateSync(fd, cut);
        this.historyBytes = cut;
      }
      this.tailChecked = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.tailChecked = true;
        this.historyBytes = 0;
      } else this.onError(`could not check the end of ${this.historyFile}: ${String(err)}`);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  /** Offset just after the last newline before `end` (0 when there is none). */
  private lastNewlineBefore(fd: number, end: number): number {
    const buf = Buffer.allocUnsafe(this.readChunkBytes);
    let pos = end;
    while (pos > 0) {
      const len = Math.min(buf.length, pos);
      pos -= len;
      const n = fs.readSync(fd, buf, 0, len, pos);
      const nl = buf.subarray(0, n).lastIndexOf(NEWLINE);
      if (nl >= 0) return pos + nl + 1;
    }
    return 0;
  }

  appendHistory(messages: ChatMessage[]): void {
    if (messages.length === 0) return;
    this.open();
    if (this.historyBlocked) return;
    this.repairTail();
    const data = Buffer.from(messages.map((m) => JSON.stringify(m)).join('\n') + '\n', 'utf8');
    try {
      fs.appendFileSync(this.historyFile, data, { mode: FILE_MODE });
      this.linesWritten += messages.length;
      this.historyBytes += data.length;
    } catch (err) {
      this.tailChecked = false; // a failed write may have left part of a line
      this.onError(`could not write ${this.historyFile}: ${String(err)}`);
    }
  }

  /** True when the file has grown enough that it should be rewritten. */
  needsCompaction(): boolean {
    if (this.historyBlocked) return false;
    return this.linesWritten > this.maxHistory * 2 || this.historyBytes > this.maxHistoryBytes;
  }

  /**
   * Rewrites history to these messages, or to the newest of them that fit half the byte budget
   * (so that appends have room before the next compaction).
   */
  rewriteHistory(messages: ChatMessage[]): void {
    this.open();
    if (this.historyBlocked) return;
    const lines: string[] = [];
    let bytes = 0;
    const room = Math.floor(this.maxHistoryBytes / 2);
    for (let i = messages.length - 1; i >= 0 && lines.length < this.maxHistory; i--) {
      const line = JSON.stringify(messages[i]) + '\n';
      const n = Buffer.byteLength(line);
      if (bytes + n > room) break;
      lines.push(line);
      bytes += n;
    }
    lines.reverse();
    if (this.atomicWrite(this.historyFile, lines.join(''))) {
      this.linesWritten = lines.length;
      this.historyBytes = bytes;
      this.tailChecked = true;
    }
  }

  flush(): void {
    // Writes are synchronous; nothing is buffered.
  }

  /** writeFileAtomic, with a failure reported instead of thrown. */
  private atomicWrite(file: string, data: string): boolean {
    this.open();
    try {
      writeFileAtomic(file, data);
      return true;
    } catch (err) {
      this.onError((err as Error).message);
      return false;
    }
  }
}

function isRecord(b: Buffer): boolean {
  try {
    const m = JSON.parse(b.toString('utf8')) as Partial<ChatMessage> | null;
    return !!m && typeof m.id === 'string' && typeof m.text === 'string';
  } catch {
    return false;
  }
}

/** A store that keeps nothing: for tests and for a window with no storage folder. */
export class MemoryStore implements Store {
  peers: StoredPeer[] = [];
  history: ChatMessage[] = [];
  loadPeers(): StoredPeer[] {
    return this.peers;
  }
  blocked: BlockEntry[] = [];
  loadBlocked(): BlockEntry[] {
    return this.blocked;
  }
  saveBlocked(entries: BlockEntry[]): void {
    this.blocked = entries;
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
