/** Chat webview entry: builds the parts, routes the host's messages to them, draws once per frame. */
import { EVERYONE, type HostToWebview, type WebviewToHost } from '../src/protocol/webviewMessages';
import { ChatModel } from './chatModel';
import { CodeRequests } from './codeRequests';
import { Composer } from './composer';
import { FrameScheduler, OnceMark } from './frame';
import { Host } from './host';
import { MessageLog } from './log';
import { loadPersisted, StateSaver, type PersistedState } from './persist';
import { renderConversationInfo, renderSelf, Tabs } from './tabs';

declare function acquireVsCodeApi(): {
  postMessage(msg: WebviewToHost): void;
  getState(): unknown;
  setState(s: PersistedState): void;
};

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const visible = () => document.visibilityState === 'visible';

const vscode = acquireVsCodeApi();
const model = new ChatModel(loadPersisted(vscode, EVERYONE));
const saver = new StateSaver(vscode, model.persisted);
const host = new Host(vscode);
const frame = new FrameScheduler(render);
const firstRender = new OnceMark('peerchat:first-render'); // for the benchmarks: time to first paint
const selfEl = $('self');
const convInfo = $('convinfo');
const tabs = new Tabs($('tabs'), model, select);
const code = new CodeRequests(host);
const log = new MessageLog($('log'), model, host, frame, saver, code);
const composer = new Composer($('composer') as HTMLFormElement, $('input') as HTMLTextAreaElement, model, host, saver, () => log.follow());

function render(): void {
  renderSelf(selfEl, model.self);
  if (visible()) model.markRead(model.current);
  tabs.render(visible());
  renderConversationInfo(convInfo, model.current, model.peerOf(model.current));
  log.render();
  composer.renderPlaceholder();
  saver.save();
  if (model.self) firstRender.mark();
}

function select(c: string): void {
  if (c === model.current) return;
  composer.switchTo(c);
  model.persisted.conversation = c;
  log.switched();
  host.viewing(c);
  frame.schedule();
  composer.focus();
}

function onHost(msg: HostToWebview): void {
  switch (msg.type) {
    case 'init':
      performance.mark('peerchat:init-received');
      model.self = msg.self;
      model.peers = new Map(msg.peers.map((p) => [p.address, p]));
      model.reset(msg.messages);
      if (msg.focus) model.persisted.conversation = msg.focus;
      log.reset(msg.more);
      break;
    case 'earlier':
      log.earlier(msg.messages, msg.more); // draws at once, keeping the scroll place
      return;
    case 'messages':
      for (const m of msg.messages) log.queue(m.id, model.upsert(m));
      break;
    case 'peers':
      model.peers = new Map(msg.peers.map((p) => [p.address, p]));
      break;
    case 'self':
      model.self = msg.self;
      break;
    case 'focus':
      select(msg.conversation);
      return;
    case 'snippetStatus':
      code.answered(msg.key, msg.status, msg.detail);
      return;
    case 'pasteLanguage':
      composer.pasteAnswered(msg.id, msg.lang);
      return;
    default: {
      const never: never = msg;
      void never;
    }
  }
  frame.schedule();
}

host.listen(onHost);

document.addEventListener('visibilitychange', () => {
  if (!visible()) saver.save(true);
  host.viewing(visible() ? model.current : null);
  frame.schedule();
});

host.ready(visible() ? model.current : null);
