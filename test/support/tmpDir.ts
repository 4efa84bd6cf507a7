// Scratch directories for stores: made under the OS temp dir, removed when the test process exits
// (node --test runs each file in its own process).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const made = new Set<string>();
let hooked = false;

/** Removes every directory tmpDir() made so far (also done at process exit). */
export function removeTmpDirs(): void {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  made.clear();
}

/** A new empty directory `<tmp>/<prefix>XXXXXX`, removed at exit (or by removeTmpDirs()). */
export function tmpDir(prefix = 'peerchat-test-'): string {
  if (!hooked) {
    hooked = true;
    process.once('exit', removeTmpDirs);
  }
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.add(d);
  return d;
}
