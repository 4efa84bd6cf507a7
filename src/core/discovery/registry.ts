/**
 * Discovery on one machine with no network traffic: every node of one user writes a small file
 * (id, name, port, host, process id) into one folder and reads the others' files. The folder is
 * the user's alone (0700, files 0600); a file whose process is gone, or that was not refreshed
 * for nearbyExpireMs, is ignored and removed. Read every registryPollMs and whenever the folder
 * changes (a file watch, where the platform has one).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isUnspecified } from '../address';
import { decodeRegistryEntry, encodeRegistryEntry, RegistryEntry, registryFileName } from './announcement';
import type { ChannelHooks, DiscoveryChannel, SelfAnnouncement } from './channel';

/** The per-machine folder: PEERCHAT_DISCOVERY_DIR, else ~/.peerchat/nearby. */
export function defaultRegistryDir(): string {
  const fromEnv = process.env.PEERCHAT_DISCOVERY_DIR;
  return fromEnv ? path.resolve(fromEnv) : path.join(os.homedir(), '.peerchat', 'nearby');
}

/** The host another process on this machine dials to reach a node bound to `bindHost`. */
export function machineHost(bindHost: string): string {
  if (bindHost === '::') return '::1';
  if (isUnspecified(bindHost)) return '127.0.0.1';
  return bindHost; // a loopback or a LAN address: the same on this machine
}

/** Whether a process runs (a process of another user counts as running). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface RegistryOptions {
  dir: string;
  intervalMs: number;
  pollMs: number;
  expireMs: number;
  maxFiles: number;
  maxFileBytes: number;
}

const FILE = /^[0-9a-f]{64}\.json$/;

export class MachineRegistry implements DiscoveryChannel {
  readonly kind = 'machine' as const;
  private hooks: ChannelHooks | undefined;
  private self: SelfAnnouncement | undefined;
  private writeTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private soonTimer: NodeJS.Timeout | undefined;
  private watcher: fs.FSWatcher | undefined;
  /** Who the last read found, by node id: the ones missing from the next read said goodbye. */
  private seen = new Map<string, RegistryEntry>();

  constructor(private readonly o: RegistryOptions) {}

  get resources(): number {
    return [this.writeTimer, this.pollTimer, this.soonTimer, this.watcher].filter(Boolean).length;
  }

  private get ownFile(): string {
    return path.join(this.o.dir, registryFileName(this.self!.ann.nodeId));
  }

  async start(self: SelfAnnouncement, hooks: ChannelHooks): Promise<void> {
    this.self = self;
    this.hooks = hooks;
    const problem = this.prepareDir();
    if (problem) {
      hooks.log('error', `discovery on this machine is off: ${problem}`);
      return;
    }
    this.write();
    this.writeTimer = setInterval(() => this.write(), this.o.intervalMs);
    this.pollTimer = setInterval(() => this.read(), this.o.pollMs);
    this.writeTimer.unref?.();
    this.pollTimer.unref?.();
    try {
      this.watcher = fs.watch(this.o.dir, { persistent: false }, () => this.readSoon());
      this.watcher.on('error', () => this.unwatch());
    } catch {
      // No watch on this file system: the poll alone finds the others.
    }
    this.read();
    hooks.log('info', `discovery on this machine: ${this.o.dir}`);
  }

  async stop(): Promise<void> {
    clearInterval(this.writeTimer);
    clearInterval(this.pollTimer);
    clearTimeout(this.soonTimer);
    this.writeTimer = this.pollTimer = this.soonTimer = undefined;
    this.unwatch();
    if (this.self) {
      try {
        // Our goodbye: the others' next read no longer finds us.
        fs.rmSync(this.ownFile, { force: true });
      } catch {
        /* already gone */
      }
    }
    this.seen.clear();
  }

  /** The folder exists, is ours and only ours: undefined when fine, else why not. */
  private prepareDir(): string | undefined {
    const { dir } = this.o;
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const st = fs.lstatSync(dir);
      if (!st.isDirectory()) return `${dir} is not a folder`;
      const uid = process.getuid?.();
      if (uid !== undefined && st.uid !== uid) return `${dir} belongs to another user`;
      if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
      return undefined;
    } catch (err) {
      return `cannot use ${dir}: ${(err as Error).message}`;
    }
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Writes (or refreshes) our file: a new name, or a file someone removed, comes back. */
  private write(): void {
    const s = this.self!;
    const entry: RegistryEntry = { ...s.ann, host: machineHost(s.bindHost), pid: process.pid };
    const tmp = `${this.ownFile}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, encodeRegistryEntry(entry), { mode: 0o600 });
      fs.renameSync(tmp, this.ownFile);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      this.hooks?.log('warn', `could not write ${this.ownFile}: ${(err as Error).message}`);
    }
  }

  private readSoon(): void {
    if (this.soonTimer || !this.pollTimer) return;
    // A change is often a temp file and a rename: read once both are done.
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      this.read();
    }, 50);
    this.soonTimer.unref?.();
  }

  /** Reads every other node's file: heard for the live ones, goodbye for the ones that went. */
  read(): void {
    const hooks = this.hooks;
    const self = this.self;
    if (!hooks || !self || !this.pollTimer) return;
    let names: string[];
    try {
      names = fs.readdirSync(this.o.dir);
    } catch (err) {
      hooks.log('warn', `could not read ${this.o.dir}: ${(err as Error).message}`);
      return;
    }
    const now = Date.now(); // file times are wall-clock times, whatever clock the node runs on
    const live = new Map<string, RegistryEntry>();
    let files = 0;
    for (const name of names) {
      if (!FILE.test(name)) continue;
      if (++files > this.o.maxFiles) {
        hooks.heard({ type: 'refused', from: 'machine', reason: `${this.o.dir} holds more than ${this.o.maxFiles} node files: the rest are not read` });
        break;
      }
      const id = name.slice(0, 64);
      if (id === self.ann.nodeId) continue;
      const entry = this.readEntry(path.join(this.o.dir, name), id, now);
      if (entry) live.set(id, entry);
    }
    for (const [id, e] of this.seen) if (!live.has(id) || live.get(id)!.port !== e.port || live.get(id)!.host !== e.host) hooks.heard({ type: 'goodbye', nodeId: id, host: e.host, port: e.port });
    for (const e of live.values()) hooks.heard({ type: 'heard', ann: { v: e.v, nodeId: e.nodeId, name: e.name, port: e.port }, host: e.host });
    this.seen = live;
  }

  /** One file: its entry when it is live, else undefined (and removed when its node is gone). */
  private readEntry(file: string, id: string, now: number): RegistryEntry | undefined {
    let text: string;
    let mtime: number;
    try {
      const st = fs.lstatSync(file);
      // A link could point anywhere: only plain files of sane size are read.
      if (!st.isFile() || st.size > this.o.maxFileBytes) {
        this.hooks!.heard({ type: 'refused', from: 'machine', reason: `${file}: not a plain file of at most ${this.o.maxFileBytes} bytes` });
        return undefined;
      }
      mtime = st.mtimeMs;
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return undefined; // removed meanwhile
    }
    const r = decodeRegistryEntry(text);
    if (!r.ok || r.value.nodeId !== id) {
      this.hooks!.heard({ type: 'refused', from: 'machine', reason: `${file}: ${r.ok ? 'the node id is not the file name' : r.error}` });
      return undefined;
    }
    if (!processAlive(r.value.pid) || now - mtime > this.o.expireMs) {
      // Its node died (or hung) without saying goodbye: clean up after it. A live node that
      // was only slow writes its file again at its next interval.
      fs.rmSync(file, { force: true });
      return undefined;
    }
    return r.value;
  }
}
