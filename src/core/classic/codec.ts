/** The classic keywords every classroom program shares: PING, exit and the greetings. */

export type ClassicKind = 'chat' | 'ping' | 'exit' | 'greeting';

export const GREETINGS: readonly string[] = ['Connected', 'Hello, I am connecting!'];
export const PING_TEXT = 'PING';
export const EXIT_TEXT = 'exit';
/** What PeerChat sends when it connects to a peer. */
export const GREETING_TEXT = 'Hello, I am connecting!';

/** Classifies a message text. Trailing line ends are ignored: several senders append one. */
export function classifyText(text: string): ClassicKind {
  const t = text.replace(/[\r\n]+$/, '').trim();
  if (t === PING_TEXT) return 'ping';
  if (t.toLowerCase() === EXIT_TEXT) return 'exit';
  if (GREETINGS.includes(t)) return 'greeting';
  return 'chat';
}
