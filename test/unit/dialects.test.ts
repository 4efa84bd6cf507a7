// The tolerant classic reader (parseAny), the replies senders wait for (replyFor) and the writer
// in each peer's dialect (formatFor, formatWritesFor). Example tests follow the families of the
// guide's table; property tests (fast-check) cover arbitrary input, round trips and splitting.
// Addresses other than loopback are documentation addresses (192.0.2.0/24, RFC 5737): data only.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { classifyText } from '../../src/core/classic/codec';
import { classifyHeaderText, hasControlCharacters } from '../../src/core/classic/dialects/common';
import {
  DIALECT_NAMES,
  DialectName,
  FAMILIES,
  formatFor,
  formatWritesFor,
  isDialectName,
  LINE_ACK,
  NormalizedClassic,
  openingFor,
  ParseAnyResult,
  ParseContext,
  parseAny,
  replyFor,
  SelfIdentity,
} from '../../src/core/classic/dialects';
import { splitAtCodePoints } from '../../src/core/text';
import { nameProblem } from '../../src/core/names';

const SELF: SelfIdentity = { ip: '127.0.0.1', port: 47100, name: 'ana' };
const LAN_SELF: SelfIdentity = { ip: '192.0.2.10', port: 47100, name: 'ana' };
const b = (s: string) => Buffer.from(s, 'utf8');

function ctxOf(over: Partial<ParseContext> = {}): ParseContext {
  return { remoteIp: '127.0.0.1', self: SELF, ...over };
}

function read(input: string | Uint8Array, over: Partial<ParseContext> = {}): NormalizedClassic {
  const r = parseAny(typeof input === 'string' ? b(input) : input, ctxOf(over));
  assert.ok(r.ok, `expected a message from ${JSON.stringify(typeof input === 'string' ? input : '<bytes>')}, got: ${r.ok ? '' : r.reason}`);
  return r.message;
}

function dropped(input: string | Uint8Array, over: Partial<ParseContext> = {}): Extract<ParseAnyResult, { ok: false }> {
  const r = parseAny(typeof input === 'string' ? b(input) : input, ctxOf(over));
  assert.equal(r.ok, false, `expected a drop, got ${JSON.stringify(r)}`);
  return r as Extract<ParseAnyResult, { ok: false }>;
}

describe('parseAny: the standard form and the families that speak it', () => {
  it('reads IP:PORT NAME MESSAGE, the message keeping its spaces and newlines; answers an open socket with an ack', () => {
    const m = read('192.0.2.5:5000 team_a hello  there\nsecond line', { remoteIp: '192.0.2.5' });
    assert.deepEqual(
      { d: m.dialect, n: m.name, t: m.text, k: m.kind, h: m.headerHost, hp: m.headerPort, lp: m.listenPort, p: m.peer, r: m.reply, rev: m.revealsDialect },
      {
        d: 'standard',
        n: 'team_a',
        t: 'hello  there\nsecond line',
        k: 'chat',
        h: '192.0.2.5',
        hp: 5000,
        lp: 5000,
        p: { host: '192.0.2.5', port: 5000 },
        r: { sameSocket: '[ACK] Message received from 47100' },
        rev: true,
      },
    );
  });

  it('recognises PING, exit in any case and the greetings; a trailing line end is ignored', () => {
    assert.equal(read('127.0.0.1:5000 bob PING').kind, 'ping');
    assert.equal(read('127.0.0.1:5000 bob PING\n').kind, 'ping');
    assert.equal(read('127.0.0.1:5000 bob ping').kind, 'chat', 'PING is case-sensitive');
    assert.equal(read('127.0.0.1:5000 bob exit').kind, 'exit');
    assert.equal(read('127.0.0.1:5000 bob EXIT\r\n').kind, 'exit');
    assert.equal(read('127.0.0.1:5000 bob Connected').kind, 'greeting');
    assert.equal(read('127.0.0.1:5000 bob Hello, I am connecting!').kind, 'greeting');
    assert.equal(read('127.0.0.1:5000 bob Broadcast Message').kind, 'chat');
    assert.equal(read('127.0.0.1:5000 bob exit now').kind, 'chat');
  });

  it('reads the Node sender (one write per message, lowercase exit) as standard', () => {
    const m = read('127.0.0.1:6000 nodey exit');
    assert.equal(m.dialect, 'standard');
    assert.equal(m.kind, 'exit');
    assert.deepEqual(m.peer, { host: '127.0.0.1', port: 6000 });
  });

  it('`connect`: answers `connected` on the socket, or dials back `connect_ack` to the sender', () => {
    const m = read('127.0.0.1:5000 bob connect');
    assert.equal(m.kind, 'connect');
    assert.equal(m.keyword, 'connect');
    assert.equal(m.dialect, 'standard');
    assert.deepEqual(m.reply, {
      sameSocket: '127.0.0.1:47100 ana connected',
      dialBack: { host: '127.0.0.1', port: 5000, text: '127.0.0.1:47100 ana connect_ack' },
    });
    const lan = read('192.0.2.5:5000 bob connect', { remoteIp: '192.0.2.5', self: LAN_SELF });
    assert.deepEqual(lan.reply?.dialBack, { host: '192.0.2.5', port: 5000, text: '192.0.2.10:47100 ana connect_ack' });
  });

  it('`connected` and `connect_ack` are acknowledgements, never answered', () => {
    for (const k of ['connected', 'connect_ack']) {
      const m = read(`127.0.0.1:5000 bob ${k}`);
      assert.equal(m.kind, 'ack');
      assert.equal(m.keyword, k);
      assert.equal(m.reply, undefined);
      assert.equal(m.revealsDialect, false);
    }
    assert.equal(read('127.0.0.1:5000 bob Connect').kind, 'chat', 'the keywords are case-sensitive');
    assert.equal(read('127.0.0.1:5000 bob connect now').kind, 'chat');
  });

  it('takes a dotted host name, localhost and an IPv6 address in brackets, but not a single word', () => {
    assert.equal(read('laptop.local:1255 bob hi').headerHost, 'laptop.local');
    assert.equal(read('localhost:1255 bob hi').headerHost, 'localhost');
    const v6 = read('[::1]:1255 bob hi', { remoteIp: '::1' });
    assert.equal(v6.headerHost, '::1');
    assert.equal(v6.headerPort, 1255);
    const word = read('Time:10 is fine');
    assert.equal(word.dialect, 'headerless');
    assert.equal(word.text, 'Time:10 is fine');
  });

  it('gives no reply when it is not told who it is', () => {
    const r = parseAny(b('127.0.0.1:5000 bob hi'), { remoteIp: '127.0.0.1' });
    assert.ok(r.ok && r.message.reply === undefined);
  });
});

describe('parseAny: line mode', () => {
  it('reads the opening lines and the message lines, answering each with `Message received\\n`', () => {
    const port = read('5000', { lineMode: true });
    assert.deepEqual({ k: port.kind, kw: port.keyword, lp: port.listenPort, d: port.dialect, r: port.reply }, { k: 'connectRequest', kw: 'PORT', lp: 5000, d: 'lineMode', r: { sameSocket: LINE_ACK } });
    assert.equal(read('5000 CONNECT', { lineMode: true }).listenPort, 5000);
    const c = read('CONNECT', { lineMode: true });
    assert.equal(c.kind, 'connectRequest');
    assert.equal(c.keyword, 'CONNECT');
    assert.equal(c.reply?.sameSocket, 'Message received\n');
    const m = read('127.0.0.1:5000 bob hello there\n', { lineMode: true });
    assert.deepEqual({ n: m.name, t: m.text, k: m.kind, d: m.dialect, r: m.reply?.sameSocket }, { n: 'bob', t: 'hello there', k: 'chat', d: 'lineMode', r: 'Message received\n' });
    assert.equal(read('127.0.0.1:5000 bob exit', { lineMode: true }).kind, 'exit');
  });

  it('is a property of the connection: the same `5000` elsewhere is bare text', () => {
    const m = read('5000');
    assert.equal(m.dialect, 'headerless');
    assert.equal(m.kind, 'chat');
  });

  it('answers a line it cannot read too, so the sender does not block for ever', () => {
    const d = dropped('what is this', { lineMode: true });
    assert.match(d.reason, /line mode/);
    assert.deepEqual(d.reply, { sameSocket: LINE_ACK });
    assert.deepEqual(dropped(Buffer.from([0xff, 0x0a]), { lineMode: true }).reply, { sameSocket: LINE_ACK });
  });
});

describe('parseAny: bracket forms', () => {
  it('reads `<IP:PORT> @ <NAME>\\nMSG\\n<end>`', () => {
    const m = read('<127.0.0.1:5000> @ <bob>\nhello\nworld\n<end>');
    assert.deepEqual({ d: m.dialect, n: m.name, t: m.text, lp: m.listenPort, r: m.reply }, { d: 'bracketAt', n: 'bob', t: 'hello\nworld', lp: 5000, r: undefined });
  });

  it('reads `<IP:PORT> [YYYY-mm-dd HH:MM:SS] @ <NAME>\\nMSG\\n`', () => {
    const m = read('<127.0.0.1:5000> [2024-05-06 07:08:09] @ <bob>\nhi there\n');
    assert.deepEqual({ d: m.dialect, n: m.name, t: m.text, k: m.kind }, { d: 'bracketDated', n: 'bob', t: 'hi there', k: 'chat' });
  });

  it('reads `<IP:PORT> NAME MSG`, with or without brackets around the name', () => {
    const m = read('<127.0.0.1:5000> bob hello  world');
    assert.deepEqual({ d: m.dialect, n: m.name, t: m.text }, { d: 'bracket', n: 'bob', t: 'hello  world' });
    assert.equal(read('<127.0.0.1:5000> <bob> hi').name, 'bob');
    assert.equal(read('<127.0.0.1:5000> bob exit').kind, 'exit');
  });

  it('takes the IP from the socket and sees a header that names the recipient', () => {
    const m = read('<192.0.2.10:47100> bob hi', { remoteIp: '192.0.2.5', self: LAN_SELF });
    assert.equal(m.headerIsSelf, true);
    assert.equal(m.listenPort, undefined);
    assert.equal(m.peer, undefined);
    assert.equal(m.remoteIp, '192.0.2.5');
    assert.equal(m.text, 'hi');
  });
});

describe('parseAny: pipe, JSON and headerless forms', () => {
  it('reads `LISTENING_PORT:P|TEAM_NAME:T|MSG`, the message keeping its pipes', () => {
    const m = read('LISTENING_PORT:6000|TEAM_NAME:Rockets|a | b', { remoteIp: '192.0.2.5' });
    assert.deepEqual({ d: m.dialect, n: m.name, t: m.text, lp: m.listenPort, p: m.peer, h: m.headerHost }, { d: 'pipe', n: 'Rockets', t: 'a | b', lp: 6000, p: { host: '192.0.2.5', port: 6000 }, h: undefined });
    assert.equal(read('LISTENING_PORT:6000|TEAM_NAME:R|exit').kind, 'exit');
  });

  it('reads the JSON form: port from sender_port, the header in content naming the recipient', () => {
    const json = JSON.stringify({ type: 'message', content: '<192.0.2.10:47100> <Team7> hola a todos', sender_name: 'Team7', sender_port: 7000 });
    const m = read(json, { remoteIp: '192.0.2.5', self: LAN_SELF });
    assert.deepEqual(
      { d: m.dialect, n: m.name, t: m.text, lp: m.listenPort, self: m.headerIsSelf, p: m.peer, r: m.reply },
      { d: 'json', n: 'Team7', t: 'hola a todos', lp: 7000, self: true, p: { host: '192.0.2.5', port: 7000 }, r: undefined },
    );
    // Python's json.dumps puts a space after each colon; a string port; a content without header.
    const py = read('{"type": "message", "content": "just words", "sender_name": "T", "sender_port": "7001"}');
    assert.deepEqual({ t: py.text, n: py.name, lp: py.listenPort }, { t: 'just words', n: 'T', lp: 7001 });
    assert.equal(read('{"type":"message","content":"<127.0.0.1:7000> <T> PING"}').kind, 'ping');
    assert.equal(read('{"type":"exit","content":"bye","sender_port":7000}').kind, 'exit');
  });

  it('reads `Team : msg`, `CONNECT:PORT` and bare text, taking the address from the socket', () => {
    const t = read('Rockets : hello there\n', { remoteIp: '192.0.2.5' });
    assert.deepEqual({ d: t.dialect, n: t.name, t: t.text, p: t.peer }, { d: 'headerless', n: 'Rockets', t: 'hello there', p: undefined });
    const c = read('CONNECT:6000\n', { remoteIp: '192.0.2.5' });
    assert.deepEqual({ k: c.kind, kw: c.keyword, lp: c.listenPort, p: c.peer, r: c.reply }, { k: 'connectRequest', kw: 'CONNECT:PORT', lp: 6000, p: { host: '192.0.2.5', port: 6000 }, r: undefined });
    const bare = read('just some words');
    assert.deepEqual({ d: bare.dialect, n: bare.name, t: bare.text, k: bare.kind }, { d: 'headerless', n: undefined, t: 'just some words', k: 'chat' });
    assert.equal(read('exit').kind, 'exit');
    assert.equal(read('PING\n').kind, 'ping');
  });
});

describe('parseAny: request/answer handshakes', () => {
  const cases: [string, string, string | undefined, string][] = [
    ['127.0.0.1:5000 CONNECT_REQUEST', 'connectRequest', 'CONNECTED', 'CONNECT_REQUEST'],
    ['Connection Request', 'connectRequest', 'Connection Acknowledged', 'Connection Request'],
    ['DISCONNECT', 'disconnect', 'DISCONNECT_ACK', 'DISCONNECT'],
    ['DISCONNECT\n', 'disconnect', 'DISCONNECT_ACK', 'DISCONNECT'],
    ['CONNECTED', 'ack', undefined, 'CONNECTED'],
    ['Connection Acknowledged', 'ack', undefined, 'Connection Acknowledged'],
    ['DISCONNECT_ACK', 'ack', undefined, 'DISCONNECT_ACK'],
    ['Message received', 'ack', undefined, 'Message received'],
    ['[ACK] Message received from 5000', 'ack', undefined, '[ACK]'],
  ];
  for (const [input, kind, answer, keyword] of cases) {
    it(`${JSON.stringify(input)} is ${kind}${answer ? `, answered ${answer}` : ''}`, () => {
      const m = read(input);
      assert.equal(m.dialect, 'handshake');
      assert.equal(m.kind, kind);
      assert.equal(m.keyword, keyword);
      assert.equal(m.reply?.sameSocket, answer);
      assert.equal(m.revealsDialect, false);
    });
  }

  it('the two-token request gives the listening port', () => {
    const m = read('127.0.0.1:5000 CONNECT_REQUEST');
    assert.deepEqual(m.peer, { host: '127.0.0.1', port: 5000 });
  });

  it('matches whole texts only: a chat that contains a keyword is chat', () => {
    for (const t of ['please DISCONNECT me', 'disconnect', 'CONNECT_REQUEST', 'connection request']) {
      const m = read(t);
      assert.equal(m.dialect, 'headerless', t);
      assert.equal(m.kind, 'chat', t);
    }
    assert.equal(read('127.0.0.1:5000 bob DISCONNECT').kind, 'chat');
  });
});

describe('parseAny: probes, addresses and attribution', () => {
  it('a bare connect-and-close is a probe: no text, no reply, no dialect learned', () => {
    const m = read(new Uint8Array(0));
    assert.deepEqual({ k: m.kind, t: m.text, r: m.reply, rev: m.revealsDialect, p: m.peer }, { k: 'probe', t: '', r: undefined, rev: false, p: undefined });
  });

  it('a PING that names our own address is not from a peer (never list yourself)', () => {
    const m = read('192.0.2.10:47100 hashpa PING', { remoteIp: '192.0.2.7', self: LAN_SELF });
    assert.equal(m.kind, 'ping');
    assert.equal(m.headerIsSelf, true);
    assert.equal(m.peer, undefined);
    const viaAddress = parseAny(b('192.0.2.10:47100 hashpa PING'), { remoteIp: '192.0.2.7', selfAddress: '192.0.2.10:47100' });
    assert.ok(viaAddress.ok && viaAddress.message.headerIsSelf && viaAddress.message.peer === undefined);
  });

  it('a loopback header at our port from a loopback socket is us too', () => {
    const m = read('127.0.1.1:47100 me hi', { self: LAN_SELF });
    assert.equal(m.headerIsSelf, true);
    assert.equal(m.peer, undefined);
    const pipe = read('LISTENING_PORT:47100|TEAM_NAME:me|hi', { self: LAN_SELF });
    assert.equal(pipe.peer, undefined);
  });

  it('a loopback header from a LAN socket: the IP from the socket, the port from the header', () => {
    const m = read('127.0.1.1:5000 bob hi', { remoteIp: '192.0.2.5', self: LAN_SELF });
    assert.deepEqual(m.peer, { host: '192.0.2.5', port: 5000 });
    assert.equal(m.headerHost, '127.0.1.1');
  });

  it('a program on this machine keeps the IP it advertises (it binds to it)', () => {
    assert.deepEqual(read('127.0.1.1:5000 bob hi').peer, { host: '127.0.1.1', port: 5000 });
    assert.deepEqual(read('192.0.2.10:5000 bob hi', { self: LAN_SELF }).peer, { host: '192.0.2.10', port: 5000 });
  });

  it('a LAN header that differs from the socket IP: keyed by the socket IP', () => {
    assert.deepEqual(read('192.0.2.99:5000 bob hi', { remoteIp: '192.0.2.5', self: LAN_SELF }).peer, { host: '192.0.2.5', port: 5000 });
  });

  it('a relayed exit names the peer who left by its address, not by the name', () => {
    const m = read('192.0.2.9:6000 relayer exit', { remoteIp: '192.0.2.7', self: LAN_SELF });
    assert.equal(m.kind, 'exit');
    assert.equal(m.name, 'relayer');
    assert.deepEqual(m.peer, { host: '192.0.2.9', port: 6000 });
    const loop = read('127.0.1.1:6000 bob exit', { remoteIp: '192.0.2.7', self: LAN_SELF });
    assert.deepEqual(loop.peer, { host: '192.0.2.7', port: 6000 }, 'a loopback header from the LAN is no address');
  });

  it('strips the IPv4-mapped prefix from the socket address and a byte order mark from the text', () => {
    const m = read('\ufeff127.0.0.1:5000 bob hi', { remoteIp: '::ffff:192.0.2.5', self: LAN_SELF });
    assert.equal(m.remoteIp, '192.0.2.5');
    assert.deepEqual(m.peer, { host: '192.0.2.5', port: 5000 });
  });
});

describe('parseAny: drops, each with its reason', () => {
  const bad: [string, string | Uint8Array, RegExp, DialectName?][] = [
    ['invalid UTF-8', Buffer.from([0x31, 0x3a, 0x31, 0x20, 0xff, 0xfe, 0x20, 0x61]), /UTF-8/],
    ['a cut multibyte character', Buffer.from('127.0.0.1:5000 bob é', 'utf8').subarray(0, -1), /UTF-8/],
    ['control bytes', b('127.0.0.1:5000 bob \u0000\u0001\u0002'), /binary/],
    ['only blanks', '   \n', /blank/],
    ['standard: port 0', '127.0.0.1:0 bob hi', /standard form: bad address.*bad port/, 'standard'],
    ['standard: port too big', '127.0.0.1:70000 bob hi', /bad port/, 'standard'],
    ['standard: not an IPv6 address', '[1:2:3]:5000 bob hi', /not a host/, 'standard'],
    ['standard: no name', '127.0.0.1:5000 ', /missing name/, 'standard'],
    ['standard: two spaces before the name', '127.0.0.1:5000  bob hi', /missing name/, 'standard'],
    ['standard: no text', '127.0.0.1:5000 bob', /missing message text/, 'standard'],
    ['standard: blank text', '127.0.0.1:5000 bob    ', /missing message text/, 'standard'],
    ['standard: a newline after the address', '127.0.0.1:5000\nbob hi', /missing name/, 'standard'],
    ['bracket: no space', '<127.0.0.1:5000>hi', /bracket form: expected a space/, 'bracket'],
    ['bracket: bad port', '<127.0.0.1:99999> bob hi', /bracket form: .*bad port/, 'bracket'],
    ['bracket: no text', '<127.0.0.1:5000> @ <bob>\n<end>', /bracket form: missing message text/, 'bracket'],
    ['bracket: no name', '<127.0.0.1:5000>  hi', /bracket form: missing name/, 'bracket'],
    ['pipe: bad port', 'LISTENING_PORT:abc|TEAM_NAME:x|hi', /pipe form: bad port/, 'pipe'],
    ['pipe: no team field', 'LISTENING_PORT:5000|x|hi', /TEAM_NAME/, 'pipe'],
    ['pipe: too few fields', 'LISTENING_PORT:5000|TEAM_NAME:x', /pipe form: expected/, 'pipe'],
    ['pipe: no name', 'LISTENING_PORT:5000|TEAM_NAME:|hi', /pipe form: missing name/, 'pipe'],
    ['pipe: no text', 'LISTENING_PORT:5000|TEAM_NAME:x|', /pipe form: missing message text/, 'pipe'],
    ['JSON: cut', '{"type": "message", "content": "hi', /JSON form: not valid JSON/, 'json'],
    ['JSON: no content', '{"type":"message"}', /JSON form: no "content"/, 'json'],
    ['JSON: bad sender_port', '{"content":"hi","sender_port":0}', /JSON form: bad sender_port/, 'json'],
    ['JSON: blank content', '{"content":"<127.0.0.1:5000> <T>  "}', /JSON form: missing message text/, 'json'],
    ['JSON: control characters inside', '{"content":"a\\u0000b"}', /JSON form: binary/, 'json'],
    ['handshake: bad port', '127.0.0.1:0 CONNECT_REQUEST', /handshake: bad address/, 'handshake'],
    ['headerless: CONNECT to port 0', 'CONNECT:0', /headerless: bad port/, 'headerless'],
    ['headerless: a team with no text', 'Team :  ', /headerless: missing message text/, 'headerless'],
  ];
  for (const [what, input, reason, dialect] of bad) {
    it(`drops ${what}`, () => {
      const d = dropped(input);
      assert.match(d.reason, reason);
      assert.equal(d.dialect, dialect);
      assert.equal(d.reply, undefined, 'nothing is written back for a drop outside line mode');
    });
  }
});

describe('replyFor', () => {
  it('answers nothing for the one-shot forms, acknowledgements and probes', () => {
    for (const input of ['<127.0.0.1:5000> bob hi', 'LISTENING_PORT:5000|TEAM_NAME:x|hi', '{"content":"hi"}', 'T : hi', 'CONNECT:5000', 'CONNECTED']) {
      assert.equal(read(input).reply, undefined, input);
    }
    assert.equal(replyFor(read(new Uint8Array(0)), SELF), undefined);
  });

  it('computes the same answer as parseAny fills in', () => {
    for (const input of ['127.0.0.1:5000 bob connect', 'DISCONNECT', '127.0.0.1:5000 bob hi']) {
      const r = parseAny(b(input), { remoteIp: '127.0.0.1' });
      assert.ok(r.ok);
      assert.deepEqual(replyFor(r.message, SELF), read(input).reply);
    }
  });

  it('has no dial-back for a connect whose header names us', () => {
    const m = read('127.0.0.1:47100 bob connect');
    assert.deepEqual(m.reply, { sameSocket: '127.0.0.1:47100 ana connected' });
  });
});

describe('formatFor: exact bytes per dialect', () => {
  const now = new Date(2024, 0, 2, 3, 4, 5); // local time, as the program writes it
  const cases: [DialectName, string, string][] = [
    ['standard', 'hi there', '127.0.0.1:47100 ana hi there'],
    ['lineMode', 'hi\nthere', '127.0.0.1:47100 ana hi there\n'],
    ['bracket', 'hi there', '<127.0.0.1:47100> ana hi there'],
    ['bracketAt', 'hi there', '<127.0.0.1:47100> @ <ana>\nhi there\n<end>'],
    ['bracketDated', 'hi there', '<127.0.0.1:47100> [2024-01-02 03:04:05] @ <ana>\nhi there\n'],
    ['pipe', 'hi | there', 'LISTENING_PORT:47100|TEAM_NAME:ana|hi | there'],
    ['json', 'hi "there"', '{"type":"message","content":"<127.0.0.1:47100> <ana> hi \\"there\\"","sender_name":"ana","sender_port":47100}'],
    ['headerless', 'hi there', 'ana : hi there'],
    ['handshake', 'hi there', '127.0.0.1:47100 ana hi there'],
    ['handshake', 'CONNECT_REQUEST', '127.0.0.1:47100 CONNECT_REQUEST'],
    ['handshake', 'DISCONNECT', 'DISCONNECT'],
    ['handshake', 'Connection Request', 'Connection Request'],
    ['handshake', 'connect', '127.0.0.1:47100 ana connect'],
  ];
  for (const [dialect, text, expected] of cases) {
    it(`${dialect}: ${JSON.stringify(text)}`, () => {
      assert.equal(formatFor(dialect, SELF, text, { now }), expected);
    });
  }

  it('puts an IPv6 address in brackets', () => {
    const v6 = { ip: '::1', port: 5000, name: 'ana' };
    assert.equal(formatFor('standard', v6, 'hi'), '[::1]:5000 ana hi');
    assert.equal(formatFor('bracket', v6, 'hi'), '<[::1]:5000> ana hi');
    assert.equal(read(formatFor('bracket', v6, 'hi'), { remoteIp: '::1' }).headerHost, '::1');
  });

  it('keeps a name from breaking the form it is written in', () => {
    const odd = { ip: '127.0.0.1', port: 5000, name: 'a|<b>' };
    assert.equal(formatFor('pipe', odd, 'hi'), 'LISTENING_PORT:5000|TEAM_NAME:a_<b>|hi');
    assert.equal(formatFor('bracketAt', odd, 'hi'), '<127.0.0.1:5000> @ <a|_b_>\nhi\n<end>');
    assert.equal(read(formatFor('json', odd, 'hi')).name, 'a|<b>', 'sender_name keeps it whole');
  });

  it('opens a line-mode connection with the port and CONNECT lines; no opening for the others', () => {
    assert.deepEqual(openingFor('lineMode', SELF), ['47100\n', 'CONNECT\n']);
    assert.deepEqual(openingFor('standard', SELF), []);
  });

  it('knows its dialect names', () => {
    for (const d of DIALECT_NAMES) assert.ok(isDialectName(d));
    assert.equal(isDialectName('klingon'), false);
    assert.equal(isDialectName(undefined), false);
    const covered = new Set(FAMILIES.flatMap((f) => f.dialects));
    assert.deepEqual([...covered].sort(), [...DIALECT_NAMES].sort(), 'every dialect has a family');
  });
});

describe('formatWritesFor: splitting in any dialect', () => {
  it('keeps a short text in one write and gives no write for a blank text', () => {
    assert.deepEqual(formatWritesFor('pipe', SELF, 'hi', 1023), ['LISTENING_PORT:47100|TEAM_NAME:ana|hi']);
    assert.deepEqual(formatWritesFor('standard', SELF, '   ', 1023), []);
    assert.deepEqual(formatWritesFor('standard', SELF, '', 1023), []);
  });

  it('cuts a long JSON text into writes that each stay valid JSON within the limit', () => {
    const text = '"quoted" ñandú '.repeat(200);
    const writes = formatWritesFor('json', SELF, text, 1023);
    assert.ok(writes.length > 1);
    let joined = '';
    for (const w of writes) {
      assert.ok(Buffer.byteLength(w) <= 1023);
      joined += read(w).text;
    }
    assert.equal(joined.replace(/\s+/g, ''), text.replace(/\s+/g, ''));
  });

  it('refuses a limit that leaves no room for text', () => {
    assert.throws(() => formatWritesFor('json', SELF, 'hi', 40), RangeError);
  });
});

// ------------------------------------------------------------------ properties

const ctxArb: fc.Arbitrary<ParseContext> = fc.record({
  remoteIp: fc.constantFrom('127.0.0.1', '::ffff:127.0.0.1', '192.0.2.5', '::1', ''),
  lineMode: fc.boolean(),
  self: fc.option(fc.constant(SELF), { nil: undefined }),
  selfAddress: fc.option(fc.constantFrom('127.0.0.1:47100', 'garbage', '[::1]:5000'), { nil: undefined }),
});

/** Inputs near each family's prefix, so the property reaches deep into every parser. */
const nearFamilyArb = fc
  .tuple(
    fc.constantFrom(
      '',
      '127.0.0.1:5000 ',
      '127.0.0.1:5000 bob ',
      '[::1]:5000 bob ',
      '<127.0.0.1:5000> ',
      '<127.0.0.1:5000> @ <',
      '<127.0.0.1:5000> [2024-01-01 00:00:00] @ ',
      'LISTENING_PORT:',
      'LISTENING_PORT:5000|TEAM_NAME:',
      '{"type":"message","content":"',
      '{"content":',
      'CONNECT:',
      '5000\n',
      'Team : ',
      'DISCONNECT',
    ),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.constantFrom('', '\n', '\r\n', '"}', '|', '>', '\n<end>'),
  )
  .map(([a, m, z]) => b(a + m + z));

function assertNeverInternal(r: ParseAnyResult): void {
  if (!r.ok) assert.doesNotMatch(r.reason, /internal error/);
  else assert.ok(typeof r.message.text === 'string' && typeof r.message.kind === 'string');
}

const nameArb = fc
  .string({ unit: 'grapheme-composite', minLength: 1, maxLength: 16 })
  .filter((n) => nameProblem(n) === undefined && !/[<>|]/.test(n) && !hasControlCharacters(n));

/** Texts a dialect carries unchanged: non-blank, no control characters, no trailing line end. */
const textArb = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 120 })
  .filter((t) => t.trim() !== '' && !hasControlCharacters(t) && !/[\r\n]$/.test(t));

function expectedKind(dialect: DialectName, text: string): string {
  if (dialect === 'standard' || dialect === 'lineMode' || dialect.startsWith('bracket')) return classifyHeaderText(text).kind;
  return classifyText(text);
}

describe('properties (fast-check)', () => {
  it('parseAny never throws, whatever the bytes and the context', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), ctxArb, (bytes, ctx) => {
        assertNeverInternal(parseAny(bytes, ctx));
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), ctxArb, (s, ctx) => {
        assertNeverInternal(parseAny(b(s), ctx));
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(nearFamilyArb, ctxArb, (bytes, ctx) => {
        assertNeverInternal(parseAny(bytes, ctx));
      }),
      { numRuns: 5000 },
    );
  });

  for (const dialect of DIALECT_NAMES.filter((d) => d !== 'handshake')) {
    it(`${dialect}: what formatFor writes, parseAny reads back with the same name, text, kind and dialect`, () => {
      fc.assert(
        fc.property(nameArb, textArb, fc.integer({ min: 1, max: 65535 }), (name, text, port) => {
          if (dialect === 'lineMode' && /[\r\n]/.test(text)) return; // one line per message
          if (dialect !== 'bracket' && dialect.startsWith('bracket') && /(^|\n)<end>$/.test(text)) return; // the end mark itself
          const self = { ip: '127.0.0.1', port, name };
          const wire = formatFor(dialect, self, text);
          const r = parseAny(b(wire), { remoteIp: '127.0.0.1', lineMode: dialect === 'lineMode' });
          assert.ok(r.ok, `${JSON.stringify(wire)}: ${r.ok ? '' : r.reason}`);
          const m = r.message;
          assert.equal(m.dialect, dialect, JSON.stringify(wire));
          assert.equal(m.name, name, JSON.stringify(wire));
          assert.equal(m.text, text, JSON.stringify(wire));
          assert.equal(m.kind, expectedKind(dialect, text), JSON.stringify(wire));
          assert.equal(m.listenPort, dialect === 'headerless' ? undefined : port, JSON.stringify(wire));
        }),
        { numRuns: 400 },
      );
    });
  }

  it('handshake: every request and answer formatFor writes reads back as itself', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('CONNECT_REQUEST', 'Connection Request', 'DISCONNECT', 'CONNECTED', 'Connection Acknowledged', 'DISCONNECT_ACK', 'Message received'),
        fc.integer({ min: 1, max: 65535 }),
        (keyword, port) => {
          const r = parseAny(b(formatFor('handshake', { ip: '127.0.0.1', port, name: 'ana' }, keyword)), { remoteIp: '127.0.0.1' });
          assert.ok(r.ok);
          assert.equal(r.message.dialect, 'handshake');
          assert.equal(r.message.text, keyword);
          assert.equal(r.message.keyword, keyword);
          if (keyword === 'CONNECT_REQUEST') assert.equal(r.message.listenPort, port);
        },
      ),
    );
  });

  /** Every piece is whole code points: it survives a strict UTF-8 round trip unchanged. */
  function assertWholeCharacters(piece: string): void {
    const bytes = Buffer.from(piece, 'utf8');
    assert.equal(new TextDecoder('utf-8', { fatal: true }).decode(bytes), piece);
    assert.doesNotMatch(piece, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/, 'no lone surrogate');
  }

  it('splitting at code points never breaks a character, never exceeds 1023 bytes, and loses nothing', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', ' ', 'é', '€', '😀', '𝄞', 'ñ', '\n'), maxLength: 1500 }), nameArb, (text, name) => {
        const header = `127.0.0.1:47100 ${name} `;
        const parts = splitAtCodePoints(text, (p) => Buffer.byteLength(header + p, 'utf8') <= 1023).map((p) => header + p);
        let body = '';
        for (const p of parts) {
          assert.ok(Buffer.byteLength(p, 'utf8') <= 1023, `${Buffer.byteLength(p, 'utf8')} bytes`);
          assert.ok(p.startsWith(header));
          assertWholeCharacters(p);
          body += p.slice(header.length);
        }
        assert.equal(body, text);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 3000 }), (text) => {
        const parts = splitAtCodePoints(text, (p) => Buffer.byteLength('127.0.0.1:47100 ana ' + p, 'utf8') <= 1023).map((p) => '127.0.0.1:47100 ana ' + p);
        for (const p of parts) {
          assert.ok(Buffer.byteLength(p, 'utf8') <= 1023);
          assertWholeCharacters(p);
        }
        assert.equal(parts.map((p) => p.slice('127.0.0.1:47100 ana '.length)).join(''), text);
      }),
      { numRuns: 200 },
    );
  });

  it('formatWritesFor keeps every write within the limit and whole characters, in every dialect', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DIALECT_NAMES),
        fc.string({ unit: fc.constantFrom('a', ' ', 'é', '€', '😀', '"', '\\', '|', '<'), maxLength: 1200 }),
        fc.integer({ min: 120, max: 1023 }),
        (dialect, text, max) => {
          const writes = formatWritesFor(dialect, SELF, text, max, { now: new Date(2024, 0, 1) });
          const texts: string[] = [];
          for (const w of writes) {
            assert.ok(Buffer.byteLength(w, 'utf8') <= max, `${dialect}: ${Buffer.byteLength(w, 'utf8')} > ${max}`);
            assertWholeCharacters(w);
            const r = parseAny(b(w), { remoteIp: '127.0.0.1', lineMode: dialect === 'lineMode' });
            assert.ok(r.ok, `${dialect} ${JSON.stringify(w)}: ${r.ok ? '' : r.reason}`);
            texts.push(r.message.text);
          }
          // Nothing but blank runs at the cuts may go missing.
          assert.equal(texts.join('').replace(/\s+/g, ''), text.replace(/\s+/g, ''));
        },
      ),
      { numRuns: 300 },
    );
  });
});
