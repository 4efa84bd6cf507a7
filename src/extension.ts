import * as vscode from 'vscode';

// Temporary skeleton: replaced by the full composition root.
export function activate(context: vscode.ExtensionContext): void {
  const tree: vscode.TreeDataProvider<string> = {
    getChildren: () => [],
    getTreeItem: (e) => new vscode.TreeItem(e),
  };
  context.subscriptions.push(vscode.window.registerTreeDataProvider('peerchat.peers', tree));
  context.subscriptions.push(
    vscode.window.registerWebviewViewProvider('peerchat.chat', {
      resolveWebviewView(view) {
        view.webview.html = '<!DOCTYPE html><html><body><p id="hello">PeerChat</p></body></html>';
      },
    }),
  );
  context.subscriptions.push(
    vscode.commands.registerCommand('peerchat.copyMyAddress', async () => {
      await vscode.env.clipboard.writeText('127.0.0.1:47100');
      void vscode.window.showInformationMessage('Copied 127.0.0.1:47100');
    }),
  );
}

export function deactivate(): void {}
