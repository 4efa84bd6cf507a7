/**
 * The terminal peer: the same core as the extension, for people without VS Code and for tests.
 *   node dist/cli.js --port P [--host H] [--advertise IP] [--name N] [--data DIR] [--json]
 *                    [--discovery lan|machine|off] [--discovery-dir DIR]
 * With --json: one command per stdin line, one JSON event per stdout line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import { defaultAdvertisedIp, isValidPort } from './core/address';
import { ChatMessage, DiscoveryMode } from './core/chatTypes';
import { PeerChatError } from './core/errors';
import { defaultName, nameProblem } from './core/names';
import { PeerNode, PeerResult } from './core/node';
import { FileStore } from './core/store';
import { clip, forTerminal, forTerminalLines, jsonForTerminal } from './core/text';
import { fenceLanguageOfPath, snippetMessage } from './protocol/snippet';

const USAGE = `usage: peerchat --port P [--host H] [--advertise IP] [--name N] [--data DIR] [--json]
                [--discovery lan|machine|off] [--discovery-dir DIR]

  --discovery     find PeerChat nodes nearby and be found: lan (default: the LAN by multicast
                  DNS, and this machine), machine (this machine only, no network traffic), off
  --discovery-dir the per-machine folder (default ~/.peerchat/nearby, or $PEERCHAT_DISCOVERY_DIR)

commands:
  /send HOST:PORT text     send a message to one peer
  /broadcast text          send to every known peer (plain text does the same)
  /snippet HOST:PORT|NODEID FILE START END [comment]
                           send lines START..END of FILE as a snippet (a fenced block naming the
                           language and FILE:START-END, the path relative to this folder)
  /connect HOST:PORT       greet a peer and mark it connected
  /connectall              greet every known peer
  /disconnect HOST:PORT    tell a peer you leave (exit) and stop treating it as connected
  /peers                   list peers
  /nearby                  list the PeerChat nodes nearby (their key checked), and spoofed announcements
  /prune                   PING every peer, remove those that do not answer
  /dialect HOST:PORT NAME  write to a classic peer in its own form (standard, lineMode, bracket,
                           bracketAt, bracketDated, pipe, json, headerless, handshake)
  /fingerprint             show your key's fingerprint (give it to peers to check)
  /verify HOST:PORT|NODEID show the safety number you and a PeerChat peer both see
  /trust NODEID|HOST:PORT  mark a peer's key verified (after comparing the safety number); after
                           a key change at its address, accept the new key
  /block HOST:PORT|IP|NODEID
                           block a peer: its connections are closed at once, nothing from it is
                           shown, it is never dialed, and it leaves /peers (kept across restarts)
  /unblock HOST:PORT|IP|NODEID
                           undo /block (the peers it removed come back)
  /blocked                 list what is blocked
  /outbox                  list messages waiting for native peers that are away
  /cancel ID               cancel a queued message
  /history [N]             show the last N messages
  /quit                    say exit to connected peers and leave`;

type CliEvent = { type: string } & Record<string, unknown>;

/** Lines START..END (1-based, inclusive) of a local file as one snippet message. */
function readSnippet(file: string | undefined, a: string | undefined, b: string | undefined, comment: string, maxBytes: number): string {
  const start = Number(a);
  const end = Number(b ?? a);
  if (!file || !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 1 || end < start) throw new PeerChatError('ERR_BAD_INPUT', 'usage: /snippet HOST:PORT|NODEID FILE START END [comment]');
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    throw new PeerChatError('ERR_BAD_INPUT', `could not read ${file}: ${(err as Error).message}`);
  }
  const all = text.replace(/\r\n?/g, '\n').split('\n');
  if (start > all.length) throw new PeerChatError('ERR_BAD_INPUT', `${file} has ${all.length} lines, not ${start}`);
  const rel = path.relative(process.cwd(), abs);
  const shown = (rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.basename(abs)).split(path.sep).join('/');
  return snippetMessage(all.slice(start - 1, Math.min(end, all.length)), start, fenceLanguageOfPath(shown), shown, comment.trim(), maxBytes);
}

function main(): void {
  let args;
  try {
    args = parseArgs({
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string', default: '0.0.0.0' },
        advertise: { type: 'string' },
        name: { type: 'string' },
        data: { type: 'string' },
        discovery: { type: 'string' },
        'discovery-dir': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (args.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const port = Number(args.port);
  if (args.port === undefined || !(isValidPort(port) || port === 0)) fail(`--port must be a number from 1 to 65535\n${USAGE}`);
  const name = args.name ?? defaultName();
  const why = nameProblem(name);
  if (why) fail(`--name "${name}": ${why}`);
  const json = args.json === true;
  const dataDir = args.data ?? path.join(os.homedir(), '.peerchat', String(port));
  // The environment can set the defaults (test runs turn discovery off this way for every peer they start).
  const discovery = args.discovery ?? process.env.PEERCHAT_DISCOVERY ?? 'lan';
  if (!isDiscoveryMode(discovery)) fail(`--discovery must be lan, machine or off, not "${discovery}"`);
  const discoveryDir = args['discovery-dir'] ?? process.env.PEERCHAT_DISCOVERY_DIR;

  // Every human line is built with safe() around whatever came from the network (names, texts,
  // addresses, reasons, errors); the whole line goes through forTerminal once more, so a field
  // missed there still cannot reach the terminal as an escape. JSON lines escape what
  // JSON.stringify leaves raw (C1, bidi overrides, U+2028/2029): a consumer may print them raw.
  const out = (e: CliEvent, human: string) => {
    if (json) process.stdout.write(jsonForTerminal(e) + '\n');
    else if (human) process.stdout.write(forTerminal(human) + '\n');
  };
  const error = (message: string) => out({ type: 'error', message }, `! ${safe(message)}`);

  const store = new FileStore(dataDir, 10_000, (msg) => error(msg));
  let node: PeerNode;
  try {
    node = new PeerNode({
      host: args.host ?? '0.0.0.0',
      port,
      name,
      advertisedIp: args.advertise ?? defaultAdvertisedIp(),
      inactiveAfterSeconds: 0,
      store,
      discovery: { mode: discovery, ...(discoveryDir ? { dir: path.resolve(discoveryDir) } : {}) },
    });
  } catch (err) {
    fail(err instanceof PeerChatError ? err.message : String(err)); // a damaged identity key, say
  }

  node.on('status', (s) => {
    if (s.state === 'listening') {
      out(
        { type: 'listening', address: node.address, bind: s.address, nodeId: node.nodeId, fingerprint: node.fingerprint },
        `PeerChat ${safe(node.name)} listening on ${safe(s.address)}; peers reach you at ${safe(node.address)}; your fingerprint ${node.fingerprint}. /help for commands.`,
      );
    }
    else if (s.state === 'error') out({ type: 'error', message: s.reason, code: s.code }, `! ${safe(s.reason)}`);
  });
  // Native delivery states are reported once each, as they happen.
  const reported = new Map<string, string>();
  node.on('message', (m: ChatMessage) => {
    if (m.direction === 'in') {
      out(
        { type: 'message', from: m.peer, name: m.name, text: m.text, id: m.id, ts: m.ts, conversation: m.conversation, ...(m.origin ? { origin: m.origin } : {}) },
        `[${time(m.ts)}] ${m.conversation === 'everyone' ? '(everyone) ' : ''}${safe(m.name)} (${safe(m.peer ?? '?')}): ${safe(m.text)}`,
      );
      // Printed is seen: a terminal peer sends read receipts for what it shows.
      if (m.origin && m.conversation !== 'everyone') setImmediate(() => node.markRead(m.conversation));
    } else if (m.direction === 'system') {
      out({ type: 'system', text: m.text, peer: m.peer }, `* ${safe(m.text)}`);
    } else if (m.state === 'queued' || m.state === 'delivered' || m.state === 'read' || m.state === 'cancelled') {
      if (reported.get(m.id) === m.state) return;
      reported.set(m.id, m.state);
      const to = m.conversation === 'everyone' ? 'everyone' : m.peer ?? m.conversation;
      out({ type: m.state, id: m.id, to }, `  ${m.state}: "${safe(clip(m.text))}" → ${safe(to)}`);
    }
  });
  node.on('log', (level, text) => {
    if (level === 'warn' || level === 'error') out({ type: 'log', level, text }, json ? '' : `  (${safe(text)})`);
  });

  const sent = (r: PeerResult, id?: string) =>
    out(
      { type: 'sent', to: r.peer, ok: r.ok, ...(id ? { id } : {}), ...(r.error ? { error: r.error } : {}), acked: !!r.acked, ...(r.queued ? { queued: true } : {}) },
      r.ok ? `  ${r.queued ? 'queued for' : 'sent to'} ${safe(r.peer)}` : `! not sent to ${safe(r.peer)}: ${safe(r.error)}`,
    );
  const peers = () =>
    out(
      { type: 'peers', peers: node.peerViews() },
      node.peerViews().length ? node.peerViews().map((p) => `  ${safe(p.state.padEnd(9))} ${safe((p.protocol === 'classic' ? p.dialect ?? 'classic' : p.protocol ?? '?').padEnd(9))} ${safe(p.name)} ${safe(p.address)} ${safe(p.learnedFrom)}${p.lastError ? `  (${safe(p.lastError)})` : ''}`).join('\n') : '  no peers yet',
    );

  const nearby = () => {
    const peers = node.nearby().map((n) => ({ nodeId: n.nodeId, name: n.name, address: n.address, fingerprint: n.fingerprint, learnedFrom: n.learnedFrom, known: n.known }));
    const spoofed = node.spoofedAnnouncements();
    return {
      event: { type: 'nearby', peers, spoofed },
      human: [
        ...(peers.length ? peers.map((n) => `  ${safe(n.name)} ${safe(n.address)} ${n.fingerprint} ${n.learnedFrom}${n.known ? '' : ' (new)'}`) : ['  nobody nearby yet']),
        ...spoofed.map((x) => `  ⚠ spoofed announcement at ${safe(x.address)}: claims ${safe(x.name)} (${x.nodeId.slice(0, 12)}…)${x.answeredBy ? ` but ${x.answeredBy.slice(0, 12)}… answered` : ''}: ignored`),
      ].join('\n'),
    };
  };
  // Printed again whenever it changes (with --json); a person sees who came and went.
  let lastNearby = '';
  node.on('nearby', () => {
    const n = nearby();
    const key = JSON.stringify(n.event);
    if (key === lastNearby) return;
    const before = lastNearby ? (JSON.parse(lastNearby) as { peers: { nodeId: string }[] }).peers.length : 0;
    lastNearby = key;
    out(n.event, n.event.peers.length !== before ? `  (nearby: ${n.event.peers.length} PeerChat node${n.event.peers.length === 1 ? '' : 's'}; /nearby lists them)` : '');
  });

  let quitting = false;
  const quit = async () => {
    if (quitting) return;
    quitting = true;
    await node.shutdown();
    out({ type: 'bye' }, 'bye');
    process.exit(0);
  };

  const handle = async (line: string) => {
    const input = line.trim();
    if (!input) return;
    const [cmd, ...rest] = input.split(' ');
    const arg = rest.join(' ');
    const firstArg = rest[0] ?? '';
    const afterFirst = rest.slice(1).join(' ');
    try {
      switch (input.startsWith('/') ? cmd.toLowerCase() : '/broadcast-plain') {
        case '/send': {
          const { message, result } = await node.send(firstArg, afterFirst);
          sent(result, message.id);
          break;
        }
        case '/snippet': {
          const [to, file, a, b] = rest;
          const { message, result } = await node.send(to ?? '', readSnippet(file, a, b, rest.slice(4).join(' '), node.limits.maxOutgoingTextBytes));
          sent(result, message.id);
          break;
        }
        case '/broadcast':
        case '/broadcast-plain': {
          const { message, results } = await node.broadcast(cmd.toLowerCase() === '/broadcast' ? arg : input);
          if (results.length === 0) error('no peers to broadcast to yet');
          results.forEach((r) => sent(r, message.id));
          break;
        }
        case '/outbox': {
          const all = node.outboxEntries();
          const entries = all.map((e) => ({ id: e.message.id, to: e.peer ?? `node:${e.to}`, ...(e.peer ? {} : { orphan: true }), text: e.message.text, state: e.message.state, ts: e.message.ts }));
          out({ type: 'outbox', messages: entries }, entries.length ? all.map((e) => `  ${safe(e.message.id)} → ${safe(e.recipient)}: ${safe(e.message.text)}`).join('\n') : '  nothing waits');
          break;
        }
        case '/dialect': {
          const rec = node.setDialect(firstArg, afterFirst.trim());
          out({ type: 'dialect', peer: rec.address, dialect: rec.dialect }, `  ${safe(rec.address)} now gets messages in the ${safe(rec.dialect)} form`);
          break;
        }
        case '/fingerprint':
          out({ type: 'fingerprint', nodeId: node.nodeId, fingerprint: node.fingerprint }, `  your fingerprint: ${node.fingerprint}`);
          break;
        case '/verify': {
          const target = /^[0-9a-f]{64}$/.test(firstArg) ? `node:${firstArg}` : firstArg;
          const sn = node.safetyNumber(target);
          out({ type: 'safety', peer: sn.peer, nodeId: sn.nodeId, number: sn.number }, `  safety number with ${safe(sn.peer)}: ${safe(sn.number)}\n  compare it with your peer (out loud, or on another channel); if it matches: /trust ${safe(sn.nodeId)}`);
          break;
        }
        case '/trust': {
          const target = /^[0-9a-f]{64}$/.test(firstArg) ? `node:${firstArg}` : firstArg;
          // After a key change the new id is not yet the peer's: find the row that waits for it.
          const changed = node.peerViews().find((p) => p.identityChanged && (p.address === firstArg || [p.nodeId, node.peers.get(p.address)?.newIdentity].includes(firstArg)));
          if (changed) node.trustNewIdentity(changed.address);
          const rec = node.setVerified(changed ? changed.address : target, true);
          out({ type: 'trusted', peer: rec.address, nodeId: rec.nodeId, verified: rec.verified === true }, `  ${safe(rec.name)} (${safe(rec.address)}) is verified${changed ? `, with the new key ${safe(rec.nodeId)}` : ''}`);
          break;
        }
        case '/block': {
          const r = node.block(arg);
          const queued = r.queued ? `; ${r.queued} queued message${r.queued === 1 ? '' : 's'} for it stay in the outbox until you /cancel them` : '';
          out(
            { type: 'blocked', target: r.target, kind: r.kind, removed: r.removed, queued: r.queued, ...(r.label ? { label: r.label } : {}) },
            `  blocked ${safe(r.target)}${r.label ? ` (${safe(r.label)})` : ''}${r.removed.length ? `; removed ${safe(r.removed.join(', '))} from the peers` : ''}${queued}. /unblock ${safe(r.target)} undoes it`,
          );
          break;
        }
        case '/unblock': {
          const r = node.unblock(arg);
          if (!r) {
            error(`${arg} is not blocked: /blocked lists what is`);
            break;
          }
          out({ type: 'unblocked', target: r.target, kind: r.kind, restored: r.restored }, `  unblocked ${safe(r.target)}${r.restored.length ? `; ${safe(r.restored.join(', '))} back in the peers` : ''}`);
          break;
        }
        case '/blocked': {
          const list = node.blocked();
          out({ type: 'blocklist', entries: list }, list.length ? list.map((b) => `  ${safe(b.target)}${b.label ? ` (${safe(b.label)})` : ''} since ${new Date(b.added).toLocaleString()}`).join('\n') : '  nothing is blocked');
          break;
        }
        case '/cancel':
          if (!node.cancel(firstArg)) error(`no queued message ${firstArg}`);
          break;
        case '/connect':
          sent(await node.connect(firstArg));
          break;
        case '/connectall':
          (await node.connectAll()).forEach((r) => sent(r));
          break;
        case '/disconnect':
          sent(await node.disconnect(firstArg, true));
          break;
        case '/peers':
          peers();
          break;
        case '/nearby': {
          const n = nearby();
          out(n.event, n.human);
          break;
        }
        case '/prune': {
          const r = await node.pruneInactive(true);
          out({ type: 'pruned', probed: r.probed, removed: r.inactive }, `  probed ${r.probed}, removed ${r.inactive.length}`);
          break;
        }
        case '/history': {
          const n = Number(firstArg) || 20;
          for (const m of node.getHistory().slice(-n)) out({ type: 'history', message: m }, `[${time(m.ts)}] ${m.direction === 'system' ? '*' : safe(m.name)}: ${safe(m.text)}`);
          break;
        }
        case '/help':
          out({ type: 'help', text: USAGE }, USAGE);
          break;
        case '/quit':
        case '/exit':
          await quit();
          break;
        default:
          error(`unknown command ${cmd}: /help lists them`);
      }
    } catch (err) {
      error(err instanceof PeerChatError ? err.message : String((err as Error)?.message ?? err));
    }
  };

  // Commands run one after another, in the order typed.
  let chain = Promise.resolve();
  const rl = readline.createInterface({ input: process.stdin, terminal: !json && process.stdin.isTTY });
  rl.on('line', (line) => {
    chain = chain.then(() => handle(line));
  });
  rl.on('close', () => {
    chain = chain.then(quit);
  });
  process.on('SIGINT', () => void quit());
  process.on('SIGTERM', () => void quit());

  node.start().catch((err: PeerChatError) => {
    if (err.code === 'ERR_PORT_IN_USE') error(`${err.message}: pick another --port`);
    process.exit(2);
  });
}

/**
 * Peer text made safe for a terminal: no escape sequences or other control characters, and its
 * further lines indented, so it never prints a line that looks like one of the terminal peer's.
 */
function safe(text: string | number | undefined): string {
  return forTerminalLines(String(text ?? ''));
}

function isDiscoveryMode(s: string): s is DiscoveryMode {
  return s === 'lan' || s === 'machine' || s === 'off';
}

function time(ts: number): string {
  return new Date(ts).toTimeString().slice(0, 5);
}

function fail(msg: string): never {
  process.stderr.write(msg + '\n');
  process.exit(2);
}

main();
