// What the harness tells the suites about the run: the loopback port the extension's node was
// configured to listen on, the workspace folder, where to write the results. The harness passes
// these as PEERCHAT_TEST_* environment variables (they reach the extension host both in
// code-server and in desktop VS Code) and also writes them to <workspace>/.vscode/peerchat-test.json,
// which is the fallback when a variable is missing.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';

export interface TestEnv {
  /** peerchat.port as written into the workspace settings (a free 127.0.0.1 port). */
  port: number;
  /** Absolute path of the test workspace folder. */
  workspace: string;
  /** Where index.ts writes the mocha results as JSON (may be empty). */
  resultsFile: string;
}

let cached: TestEnv | undefined;

function fromFile(): Partial<TestEnv> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!folder) return {};
  try {
    const raw = fs.readFileSync(path.join(folder, '.vscode', 'peerchat-test.json'), 'utf8');
    return { workspace: folder, ...(JSON.parse(raw) as Partial<TestEnv>) };
  } catch {
    return { workspace: folder };
  }
}

/** The run's test environment (throws when the harness left no port anywhere). */
export function testEnv(): TestEnv {
  if (cached) return cached;
  const file = fromFile();
  const port = Number(process.env.PEERCHAT_TEST_PORT || file.port);
  if (!Number.isInteger(port) || port <= 0) {
    throw new Error('no test port: set PEERCHAT_TEST_PORT or write .vscode/peerchat-test.json in the workspace');
  }
  cached = {
    port,
    workspace: process.env.PEERCHAT_TEST_WORKSPACE || file.workspace || '',
    resultsFile: process.env.PEERCHAT_TEST_RESULTS || file.resultsFile || '',
  };
  return cached;
}
