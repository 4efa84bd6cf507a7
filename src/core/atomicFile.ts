/**
 * Whole-file writes that survive a crash or power loss at any point: the old file or the new one,
 * never a mix. Files are made 0600 (the data folder holds chat text and keys).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FILE_MODE = 0o600;

/** Temp file (0600) + fsync + rename + fsync of the folder; throws with the file's name. */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w', FILE_MODE);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing more to do
    }
    throw new Error(`could not write ${file}: ${String(err)}`, { cause: err });
  }
  syncFolder(path.dirname(file));
}

/** fsync of a folder, so that a rename or a new file in it survives power loss; not possible on Windows. */
export function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows cannot open or fsync a folder (EISDIR / EPERM): the rename is all there is.
  } finally {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // ignore
      }
    }
  }
}
