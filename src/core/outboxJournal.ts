/**
 * The outbox on disk: `outbox.jsonl`, an append-only journal of `add` and `remove` records, one
 * JSON object a line, so that queuing a message costs one short append (and one fsync per batch),
 * never a rewrite of everything that waits. It is compacted (atomic rewrite of the live entries,
 * fsync'd) only once it holds several times what is live. A torn last line (a crash mid-append)
 * is cut off on load: a strict prefix of a JSON object never parses, so a torn record can never
 * be taken for a whole one. An `outbox.json` of older versions is migrated once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FILE_MODE, syncFolder, writeFileAtomic } from './atomicFile';
import type { OutboxEntry, OutboxRecord } from './native/outbox';

export interface OutboxJournalOptions {
  /** The journal is compacted when it is larger than this many times the live records… */
  compactFactor?: number;
  /** …and larger than this (default 256 KiB: small journals are not worth rewriting). */
  compactMinBytes?: number;
}

/** What the last load found (for tests and diagnostics). */
export interface OutboxLoadStats {
  fileBytes: number;
  /** Whole lines that were no record of ours (damage, not a crash). */
  skippedLines: number;
  /** Bytes of a torn last record cut off. */
  tornBytes: number;
  /** An outbox.json was migrated. */
  migrated: boolean;
}

const NEWLINE = 0x0a;

export class OutboxJournal {
  readonly file: string;
  private readonly legacyFile: string;
  private readonly compactFactor: number;
  private readonly compactMinBytes: number;
  /** Size of the journal as far as we know (load, then our own writes). */
  private bytes = 0;
  /** Record bytes of each live add, by message id, and their sum. */
  private readonly live = new Map<string, number>();
  private liveBytes = 0;
  private exists = false;
  private loaded = false;
  lastLoad: OutboxLoadStats = { fileBytes: 0, skippedLines: 0, tornBytes: 0, migrated: false };

  constructor(
    private readonly dir: string,
    private readonly onError: (msg: string) => void,
    options: OutboxJournalOptions = {},
  ) {
    this.file = path.join(dir, 'outbox.jsonl');
    this.legacyFile = path.join(dir, 'outbox.json');
    this.compactFactor = Math.max(1.5, options.compactFactor ?? 2);
    this.compactMinBytes = options.compactMinBytes ?? 256 * 1024;
  }

  /** Journal size in bytes (for tests and diagnostics). */
  get fileBytes(): number {
    return this.bytes;
  }

  /** The live entries, oldest first; repairs a torn tail and migrates outbox.json. */
  load(): OutboxEntry[] {
    this.loaded = true;
    this.removeStaleTemps();
    this.live.clear();
    this.liveBytes = 0;
    this.lastLoad = { fileBytes: 0, skippedLines: 0, tornBytes: 0, migrated: false };
    let data: Buffer;
    try {
      data = fs.readFileSync(this.file);
      this.exists = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        // Never written over: appends would bury entries we could not read.
        throw new Error(`could not read ${this.file}: ${String(err)}`, { cause: err });
      }
      this.exists = false;
      this.bytes = 0;
      return this.migrate();
    }
    // A migration interrupted after the journal was written: the journal has it all.
    this.removeLegacy();
    const entries = new Map<string, OutboxEntry>();
    let start = 0;
    while (start < data.length) {
      const nl = data.indexOf(NEWLINE, start);
      const end = nl < 0 ? data.length : nl;
      const line = data.subarray(start, end);
      const record = line.length ? parseRecord(line) : undefined;
      if (nl < 0) {
        // The last line has no newline: a torn append, or a whole record whose newline was lost.
        if (record) {
          this.apply(entries, record, line.length + 1);
          this.repairTail(data.length, '\n');
        } else {
          this.lastLoad.tornBytes = line.length;
          this.repairTail(start);
        }
        break;
      }
      if (record) this.apply(entries, record, line.length + 1);
      else if (line.length) this.lastLoad.skippedLines++;
      start = nl + 1;
    }
    if (this.lastLoad.tornBytes === 0) this.bytes = data.length + (data.length && data[data.length - 1] !== NEWLINE ? 1 : 0);
    this.lastLoad.fileBytes = this.bytes;
    if (this.lastLoad.skippedLines) this.onError(`${this.file}: skipped ${this.lastLoad.skippedLines} damaged line(s)`);
    return [...entries.values()];
  }

  /**
   * Appends records; with `durable` they are on disk (fdatasync) when it returns. Throws with the
   * file's name when they could not be written (then nothing of them stays in the file). Returns
   * true when the journal has grown enough that it should be compacted.
   */
  append(records: readonly OutboxRecord[], durable: boolean): boolean {
    if (!this.loaded) this.load();
    if (records.length === 0) return false;
    const lines = records.map((r) => JSON.stringify(r) + '\n');
    const buf = Buffer.from(lines.join(''), 'utf8');
    const before = this.bytes;
    const created = !this.exists;
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.file, 'a', FILE_MODE);
      let off = 0;
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
      if (durable) fs.fdatasyncSync(fd);
    } catch (err) {
      if (fd !== undefined) {
        try {
          fs.ftruncateSync(fd, before); // no half record left for the next append to glue onto
        } catch {
          // the next load cuts a torn tail
        }
      }
      throw new Error(`could not write ${this.file}: ${String(err)}`, { cause: err });
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    // A new file's name must survive power loss too, or its fsync'd records would be lost with it.
    if (created && durable) syncFolder(this.dir);
    this.exists = true;
    this.bytes += buf.length;
    records.forEach((r, i) => this.track(r, Buffer.byteLength(lines[i])));
    return this.bytes > this.compactMinBytes && this.bytes > this.compactFactor * this.liveBytes;
  }

  /** Rewrites the journal to these entries (atomic, fsync'd). Throws with the file's name. */
  compact(entries: readonly OutboxEntry[]): void {
    const lines = entries.map((e) => JSON.stringify({ op: 'add', to: e.to, message: e.message } satisfies OutboxRecord) + '\n');
    writeFileAtomic(this.file, lines.join(''));
    this.loaded = true;
    this.exists = true;
    this.live.clear();
    this.liveBytes = 0;
    this.bytes = 0;
    entries.forEach((e, i) => {
      const n = Buffer.byteLength(lines[i]);
      this.bytes += n;
      this.track({ op: 'add', to: e.to, message: e.message }, n);
    });
  }

  private apply(entries: Map<string, OutboxEntry>, r: OutboxRecord, bytes: number): void {
    if (r.op === 'add') {
      entries.delete(r.message.id); // a message added again goes to the end, where it was added
      entries.set(r.message.id, { to: r.to, message: r.message });
    } else entries.delete(r.id);
    this.track(r, bytes);
  }

  private track(r: OutboxRecord, bytes: number): void {
    const id = r.op === 'add' ? r.message.id : r.id;
    this.liveBytes -= this.live.get(id) ?? 0;
    this.live.delete(id);
    if (r.op === 'add') {
      this.live.set(id, bytes);
      this.liveBytes += bytes;
    }
  }

  /** Cuts the file at `size` (a torn record), or completes a whole last record with `suffix`. */
  private repairTail(size: number, suffix?: string): void {
    try {
      if (suffix) {
        fs.appendFileSync(this.file, suffix);
        this.bytes = size + suffix.length;
      } else {
        fs.truncateSync(this.file, size);
        this.bytes = size;
      }
    } catch (err) {
      throw new Error(`could not repair the end of ${this.file}: ${String(err)}`, { cause: err });
    }
  }

  /** The outbox.json of older versions, turned into a journal once and then removed. */
  private migrate(): OutboxEntry[] {
    let text: string;
    try {
      text = fs.readFileSync(this.legacyFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(`could not read ${this.legacyFile}: ${String(err)}`);
      return [];
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      this.moveLegacyAside(String(err));
      return [];
    }
    const entries = (Array.isArray(data) ? data : []).filter(isEntry);
    this.compact(entries);
    this.removeLegacy();
    this.lastLoad = { fileBytes: this.bytes, skippedLines: 0, tornBytes: 0, migrated: true };
    return entries;
  }

  /** A compaction cut short by a crash leaves its temp file; the journal it would have replaced is whole. */
  private removeStaleTemps(): void {
    const prefix = `${path.basename(this.file)}.`;
    try {
      for (const name of fs.readdirSync(this.dir)) if (name.startsWith(prefix) && name.endsWith('.tmp')) fs.rmSync(path.join(this.dir, name), { force: true });
    } catch {
      // a folder we cannot list fails the read just after, with its reason
    }
  }

  private removeLegacy(): void {
    try {
      fs.rmSync(this.legacyFile);
      syncFolder(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(`could not remove ${this.legacyFile} (migrated to ${this.file}): ${String(err)}`);
    }
  }

  private moveLegacyAside(why: string): void {
    const aside = `${this.legacyFile}.unreadable-${Date.now()}`;
    try {
      fs.renameSync(this.legacyFile, aside);
      this.onError(`could not read the outbox (${why}): moved ${this.legacyFile} to ${aside}`);
    } catch (err) {
      this.onError(`could not read the outbox (${why}) nor move ${this.legacyFile} aside: ${String(err)}`);
    }
  }
}

function isEntry(e: unknown): e is OutboxEntry {
  const x = e as Partial<OutboxEntry> | null;
  return !!x && typeof x.to === 'string' && !!x.message && typeof x.message.id === 'string' && typeof x.message.text === 'string';
}

function parseRecord(line: Buffer): OutboxRecord | undefined {
  let r: Partial<OutboxRecord> & { op?: unknown };
  try {
    r = JSON.parse(line.toString('utf8')) as typeof r;
  } catch {
    return undefined;
  }
  if (!r || typeof r !== 'object') return undefined;
  if (r.op === 'add') return isEntry(r) ? (r as OutboxRecord) : undefined;
  if (r.op === 'remove') return typeof (r as { id?: unknown }).id === 'string' ? (r as OutboxRecord) : undefined;
  return undefined;
}
