/**
 * Every message between the extension host and the chat webview, both directions, with runtime
 * guards: neither side trusts what it receives. Type-only imports, so the webview bundle stays free
 * of Node code.
 */
import type { ChatMessage, DeliveryState, EVERYONE as CORE_EVERYONE, NodeStatus, PeerStateName, PeerView, SelfInfo } from '../core/chatTypes';
import { type CodeLocation, MAX_LOCATION_PATH } from './snippet';

export type { ChatMessage, CodeLocation, DeliveryState, NodeStatus, PeerStateName, PeerView, SelfInfo };

/** A received snippet against the receiver's workspace. */
export type SnippetStatus = 'same' | 'differs' | 'missing' | 'refused';

/**
 * The conversation that holds broadcasts and shows everything received. Mirrors `EVERYONE` in
 * `src/core/chatTypes.ts`: declared here so the webview imports nothing from core, typed as
 * core's literal so the compiler refuses a different value.
 */
export const EVERYONE: typeof CORE_EVERYONE = 'everyone';

export type HostToWebview =
  /** Full state: sent after `ready`; `messages` is the newest page, `more` says older ones exist. */
  | { type: 'init'; self: SelfInfo; peers: PeerView[]; messages: ChatMessage[]; more: boolean; focus?: string }
  /** An older page of history, answering `loadEarlier`. */
  | { type: 'earlier'; messages: ChatMessage[]; more: boolean }
  /** New or changed messages (same id replaces), batched. */
  | { type: 'messages'; messages: ChatMessage[] }
  | { type: 'peers'; peers: PeerView[] }
  | { type: 'self'; self: SelfInfo }
  /** Show this conversation (from "Send Message…" on a peer row). */
  | { type: 'focus'; conversation: string }
  /** Answers `checkSnippet`. */
  | { type: 'snippetStatus'; key: string; status: SnippetStatus; detail?: string }
  /** Answers `paste`: the language of the editor the text came from, or null (not from an editor). */
  | { type: 'pasteLanguage'; id: number; lang: string | null };

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'send'; conversation: string; text: string }
  | { type: 'retry'; id: string }
  /** Send the page of history before this timestamp. */
  | { type: 'loadEarlier'; before: number }
  /** Take a queued message out of the outbox. */
  | { type: 'cancel'; id: string }
  /** The user is looking at this conversation (read receipts, notifications). */
  | { type: 'viewing'; conversation: string | null }
  | { type: 'command'; command: 'connect' | 'copyMyAddress' }
  /** A web link was clicked: the host checks it and opens it through VS Code (which asks). */
  | { type: 'openLink'; url: string }
  /** A code location or a snippet's Open: the host resolves the path inside the workspace. */
  | { type: 'openLocation'; location: CodeLocation; code?: string; lang?: string }
  | { type: 'checkSnippet'; key: string; location: CodeLocation; code: string }
  | { type: 'compareSnippet'; location: CodeLocation; code: string; lang: string }
  | { type: 'openUntitled'; code: string; lang: string }
  | { type: 'insertCode'; code: string }
  | { type: 'copy'; text: string }
  /** Several lines pasted into the composer: were they copied from an editor, and in which language? */
  | { type: 'paste'; id: number; text: string };

/** Longest text the webview may hand to the host in one message. */
export const MAX_COMPOSER_TEXT = 64 * 1024;

const isStr = (v: unknown, max = 1024): v is string => typeof v === 'string' && v.length <= max;
const isLine = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 10_000_000;

export function isLocation(v: unknown): v is CodeLocation {
  if (typeof v !== 'object' || v === null) return false;
  const l = v as Record<string, unknown>;
  return isStr(l.path, MAX_LOCATION_PATH) && l.path.length > 0 && isLine(l.start) && isLine(l.end) && l.end >= l.start && (l.column === undefined || isLine(l.column));
}

/** Validates what the webview posts; anything else is ignored by the host. */
export function isWebviewToHost(v: unknown): v is WebviewToHost {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
      return true;
    case 'send':
      return isStr(m.conversation, 300) && isStr(m.text, MAX_COMPOSER_TEXT);
    case 'retry':
    case 'cancel':
      return isStr(m.id, 100);
    case 'viewing':
      return m.conversation === null || isStr(m.conversation, 300);
    case 'loadEarlier':
      return typeof m.before === 'number' && Number.isFinite(m.before);
    case 'command':
      return m.command === 'connect' || m.command === 'copyMyAddress';
    case 'openLink':
      return isStr(m.url, 2048);
    case 'openLocation':
      return isLocation(m.location) && (m.code === undefined || isStr(m.code, MAX_COMPOSER_TEXT)) && (m.lang === undefined || isStr(m.lang, 40));
    case 'checkSnippet':
      return isStr(m.key, 40) && isLocation(m.location) && isStr(m.code, MAX_COMPOSER_TEXT);
    case 'compareSnippet':
      return isLocation(m.location) && isStr(m.code, MAX_COMPOSER_TEXT) && isStr(m.lang, 40);
    case 'openUntitled':
      return isStr(m.code, MAX_COMPOSER_TEXT) && isStr(m.lang, 40);
    case 'insertCode':
      return isStr(m.code, MAX_COMPOSER_TEXT);
    case 'copy':
      return isStr(m.text, MAX_COMPOSER_TEXT);
    case 'paste':
      return typeof m.id === 'number' && isStr(m.text, MAX_COMPOSER_TEXT);
    default:
      return false;
  }
}

function isMessage(v: unknown): v is ChatMessage {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  return (
    typeof m.id === 'string' &&
    typeof m.conversation === 'string' &&
    (m.direction === 'in' || m.direction === 'out' || m.direction === 'system') &&
    typeof m.name === 'string' &&
    typeof m.text === 'string' &&
    typeof m.ts === 'number'
  );
}

function isPeer(v: unknown): v is PeerView {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  const optBool = (x: unknown) => x === undefined || typeof x === 'boolean';
  return (
    typeof p.address === 'string' &&
    typeof p.name === 'string' &&
    typeof p.state === 'string' &&
    typeof p.conversation === 'string' &&
    optBool(p.encrypted) &&
    optBool(p.verified) &&
    optBool(p.identityChanged) &&
    (p.fingerprint === undefined || (typeof p.fingerprint === 'string' && p.fingerprint.length <= 40))
  );
}

function isSelf(v: unknown): v is SelfInfo {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return typeof s.name === 'string' && typeof s.address === 'string' && typeof s.status === 'object' && s.status !== null;
}

/** Validates what the host posts, in the webview. */
export function isHostToWebview(v: unknown): v is HostToWebview {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  switch (m.type) {
    case 'init':
      return isSelf(m.self) && Array.isArray(m.peers) && m.peers.every(isPeer) && Array.isArray(m.messages) && m.messages.every(isMessage) && typeof m.more === 'boolean';
    case 'earlier':
      return Array.isArray(m.messages) && m.messages.every(isMessage) && typeof m.more === 'boolean';
    case 'messages':
      return Array.isArray(m.messages) && m.messages.every(isMessage);
    case 'peers':
      return Array.isArray(m.peers) && m.peers.every(isPeer);
    case 'self':
      return isSelf(m.self);
    case 'focus':
      return typeof m.conversation === 'string';
    case 'snippetStatus':
      return isStr(m.key, 40) && (m.status === 'same' || m.status === 'differs' || m.status === 'missing' || m.status === 'refused') && (m.detail === undefined || isStr(m.detail, 500));
    case 'pasteLanguage':
      return typeof m.id === 'number' && (m.lang === null || isStr(m.lang, 40));
    default:
      return false;
  }
}
