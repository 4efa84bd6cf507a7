/** Builds the chat webview's HTML: strict CSP with a fresh nonce, no inline handlers. Pure. */
export interface WebviewHtmlParts {
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
  codiconUri: string;
}

export function buildChatHtml(p: WebviewHtmlParts): string {
  const csp = [
    "default-src 'none'",
    `style-src ${p.cspSource}`,
    `font-src ${p.cspSource}`,
    `img-src ${p.cspSource} data:`,
    `script-src 'nonce-${p.nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${p.codiconUri}" rel="stylesheet">
<link href="${p.styleUri}" rel="stylesheet">
<title>PeerChat</title>
</head>
<body>
<div id="app" class="app">
  <header class="self" id="self" aria-live="polite"></header>
  <nav class="tabs" id="tabs" role="tablist" aria-label="Conversations"></nav>
  <div class="conv-info" id="convinfo" aria-live="polite"></div>
  <main class="log" id="log" role="log" aria-live="polite" tabindex="0"></main>
  <form class="composer" id="composer">
    <textarea id="input" rows="2" placeholder="Message Everyone (Enter to send, Shift+Enter for a new line)" aria-label="Message"></textarea>
    <button id="sendButton" type="submit" title="Send (Enter)" aria-label="Send"><i class="codicon codicon-send"></i></button>
  </form>
</div>
<script nonce="${p.nonce}" src="${p.scriptUri}"></script>
</body>
</html>`;
}
