import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { classifyText, formatClassic, parseClassic } from '../../src/core/classic/codec';
import { splitForClassic } from '../../src/core/classic/split';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('classic codec: parse', () => {
  it('reads IP:PORT NAME MESSAGE, the message keeping its spaces and newlines', () => {
    const r = parseClassic(b('192.168.1.5:5000 team_a hello  there\nsecond line'));
    assert.ok(r.ok);
    assert.deepEqual(r.message, { headerHost: '192.168.1.5', headerPort: 5000, name: 'team_a', text: 'hello  there\nsecond line', kind: 'chat' });
  });

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

  it('takes a host name and an IPv6 address in brackets', () => {
    const r1 = parseClassic(b('laptop.local:1255 bob hi'));
    assert.ok(r1.ok && r1.message.headerHost === 'laptop.local');
    const r2 = parseClassic(b('[::1]:1255 bob hi'));
    assert.ok(r2.ok && r2.message.headerHost === '::1' && r2.message.headerPort === 1255);
  });

  const bad: [string, Buffer | string, RegExp][] = [
    ['empty', '', /empty/],
    ['no header', 'hello', /no header/],
    ['address without port', '127.0.0.1 bob hi', /bad address/],
    ['port not a number', '127.0.0.1:abc bob hi', /bad port/],
    ['port zero', '127.0.0.1:0 bob hi', /bad port/],
    ['port too big', '127.0.0.1:70000 bob hi', /bad port/],
    ['host with junk', 'not_a host!:80 bob hi', /bad address|missing/],
    ['missing name', '127.0.0.1:5000 ', /missing name/],
    ['missing text', '127.0.0.1:5000 bob', /missing message/],
    ['blank text', '127.0.0.1:5000 bob    ', /missing message/],
    ['invalid UTF-8', Buffer.from([0x31, 0x3a, 0x31, 0x20, 0xff, 0xfe, 0x20, 0x61]), /UTF-8/],
    ['binary control bytes', Buffer.from('127.0.0.1:5000 bob \u0000\u0001\u0002'), /binary/],
  ];
  for (const [what, input, reason] of bad) {
    it(`drops ${what} with a reason`, () => {
      const r = parseClassic(typeof input === 'string' ? b(input) : input);
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, reason);
    });
  }

  it('never throws on random bytes', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 2000; i++) {
      const buf = Buffer.alloc(Math.floor(rnd() * 64), 0).map(() => Math.floor(rnd() * 256));
      parseClassic(buf);
    }
  });

  it('formats what parse reads back', () => {
    const text = formatClassic('10.0.0.2', 47100, 'ana', 'hola a todos');
    assert.equal(text, '10.0.0.2:47100 ana hola a todos');
    const r = parseClassic(b(text));
    assert.ok(r.ok && r.message.text === 'hola a todos' && r.message.name === 'ana');
  });
});

describe('classic codec: split', () => {
  const header = '127.0.0.1:47100 ana ';

  it('keeps a short text in one write', () => {
    assert.deepEqual(splitForClassic(header, 'hi', 1023), [header + 'hi']);
  });

  it('cuts long multibyte text into writes of at most 1023 bytes, on character boundaries, losing nothing', () => {
    const text = 'é日本🙂 '.repeat(400) + 'end';
    const parts = splitForClassic(header, text, 1023);
    assert.ok(parts.length > 1);
    let joined = '';
    for (const p of parts) {
      const bytes = Buffer.from(p, 'utf8');
      assert.ok(bytes.length <= 1023, `write of ${bytes.length} bytes`);
      assert.equal(new TextDecoder('utf-8', { fatal: true }).decode(bytes), p);
      assert.ok(p.startsWith(header));
      joined += p.slice(header.length);
    }
    assert.equal(joined, text);
  });

  it('splits a text with no spaces exactly at the byte budget', () => {
    const parts = splitForClassic(header, 'x'.repeat(3000), 1023);
    assert.equal(parts.length, Math.ceil(3000 / (1023 - header.length)));
    assert.equal(Buffer.byteLength(parts[0]), 1023);
  });

  it('refuses a header that leaves no room', () => {
    assert.throws(() => splitForClassic('x'.repeat(1022), 'hi', 1023), RangeError);
  });
});
