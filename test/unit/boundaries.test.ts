import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { EVERYONE as CORE_EVERYONE } from '../../src/core/chatTypes';
import { EVERYONE, isHostToWebview, isWebviewToHost } from '../../src/protocol/webviewMessages';
import { buildChatHtml } from '../../src/views/webviewHtml';

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('module boundaries', () => {
  it('src/core never imports vscode, views or commands', () => {
    const offenders = files(path.join(__dirname, '../../src/core'))
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /from ['"](vscode|\.\.\/(\.\.\/)?(views|commands|extension))/.test(fs.readFileSync(f, 'utf8')) || /require\(['"]vscode['"]\)/.test(fs.readFileSync(f, 'utf8')));
    assert.deepEqual(offenders, []);
  });
});

describe('constants both sides share', () => {
  it('the webview protocol names the Everyone conversation as the core does', () => {
    assert.equal(EVERYONE, CORE_EVERYONE);
  });
});

describe('webview protocol guards', () => {
  it('accepts well-formed messages from the webview and rejects everything else', () => {
    assert.ok(isWebviewToHost({ type: 'ready' }));
    assert.ok(isWebviewToHost({ type: 'send', conversation: 'everyone', text: 'hi' }));
    assert.ok(isWebviewToHost({ type: 'viewing', conversation: null }));
    assert.equal(isWebviewToHost({ type: 'send', conversation: 'everyone' }), false);
    assert.equal(isWebviewToHost({ type: 'send', conversation: 'everyone', text: 'x'.repeat(70_000) }), false);
    assert.equal(isWebviewToHost({ type: 'command', command: 'workbench.action.terminal.new' }), false);
    assert.equal(isWebviewToHost({ type: 'evil' }), false);
    assert.equal(isWebviewToHost(null), false);
    assert.equal(isWebviewToHost('ready'), false);
  });
  it('validates what the host posts', () => {
    const self = { name: 'a', address: '1.2.3.4:5', status: { state: 'stopped' } };
    assert.ok(isHostToWebview({ type: 'init', self, peers: [], messages: [], more: false }));
    assert.equal(isHostToWebview({ type: 'init', self, peers: [], messages: [] }), false, 'init says whether older history exists');
    assert.ok(isHostToWebview({ type: 'earlier', messages: [], more: true }));
    assert.ok(isHostToWebview({ type: 'messages', messages: [{ id: '1', conversation: 'everyone', direction: 'in', name: 'a', text: 't', ts: 1 }] }));
    assert.equal(isHostToWebview({ type: 'messages', messages: [{ id: 1 }] }), false);
    assert.equal(isHostToWebview({ type: 'init', self, peers: [{}], messages: [], more: false }), false);
  });
});

describe('webview html', () => {
  it('has a strict CSP with the nonce, and the only script carries it', () => {
    const html = buildChatHtml({ cspSource: 'vscode-resource:', nonce: 'abc123', scriptUri: 'x.js', styleUri: 'x.css', codiconUri: 'c.css' });
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-abc123'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    assert.equal(scripts.length, 1);
    assert.match(scripts[0], /nonce="abc123"/);
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
  });
});
