// Foundation: the extension is installed in the real extension host, activates, registers every
// command it contributes, and reads its configuration from the test workspace.
import * as assert from 'assert';
import * as vscode from 'vscode';
import { testEnv } from './support/testEnv';

const EXTENSION_ID = 'peerchat.peerchat';

interface CommandContribution {
  command: string;
  title: string;
}

function extension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed in the extension host`);
  return ext;
}

suite('foundation', () => {
  suiteSetup(async function () {
    this.timeout(30_000);
    await extension().activate();
  });

  test('the extension is present and active', () => {
    const ext = extension();
    assert.strictEqual(ext.isActive, true);
    assert.strictEqual(ext.packageJSON.name, 'peerchat');
  });

  test('every peerchat.* command in package.json is registered', async () => {
    const contributed = ((extension().packageJSON.contributes?.commands ?? []) as CommandContribution[])
      .map((c) => c.command)
      .filter((id) => id.startsWith('peerchat.'));
    assert.ok(contributed.length > 0, 'package.json contributes no peerchat.* commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((id) => !registered.has(id));
    assert.ok(missing.length === 0, `contributed in package.json but not registered: ${missing.join(', ')}`);
  });

  test('peerchat.port reads the workspace value the harness chose', () => {
    const { port } = testEnv();
    const config = vscode.workspace.getConfiguration('peerchat');
    assert.strictEqual(config.inspect<number>('port')?.workspaceValue, port);
    assert.strictEqual(config.get<number>('port'), port);
    assert.strictEqual(config.get<string>('host'), '127.0.0.1');
  });
});
