// The bounded scan that learns `model` and `stream` from a request body (src/core/proxy/scan.ts).
// Pure, no sockets: it lives next to the proxy's tests because the proxy's tests are its owner's.
// The scan must agree with JSON.parse on every valid body, and refuse exactly the bodies whose
// top-level skeleton is broken.
import * as assert from 'node:assert/strict';
import { mulberry32 } from '../../../src/core/demo/fixtures';
import { scanRequestBody, stringEnd, withModel } from '../../../src/core/proxy/scan';

const bytes = (text: string | Buffer) => (Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'));
/** The scan without the model's position (checked on its own in assertAgrees). */
const scan = (text: string | Buffer) => {
  const r = scanRequestBody(bytes(text));
  if (r.ok) {
    delete r.modelAt;
    delete r.modelEnd;
  }
  return r;
};

/** What JSON.parse says the scan should find. */
function expected(text: string): { model?: string; stream: boolean } {
  const parsed = JSON.parse(text) as { model?: unknown; stream?: unknown };
  const out: { model?: string; stream: boolean } = { stream: parsed.stream === true };
  if (typeof parsed.model === 'string') out.model = parsed.model;
  return out;
}

function assertAgrees(text: string): void {
  const got = scan(text);
  assert.ok(got.ok, `refused a valid body: ${got.ok ? '' : got.reason} in ${text.slice(0, 200)}`);
  const want = expected(text);
  assert.equal(got.model, want.model, `model of ${text.slice(0, 200)}`);
  assert.equal(got.stream, want.stream, `stream of ${text.slice(0, 200)}`);
  // Where the model sits: the string JSON.parse took it from, so that resolution replaces that one.
  const full = scanRequestBody(bytes(text));
  if (full.ok && full.model !== undefined) {
    const b = bytes(text);
    assert.equal(JSON.parse(b.toString('utf8', full.modelAt, full.modelEnd)), full.model);
    const replaced = JSON.parse(withModel(b, full.modelAt!, full.modelEnd!, '[官Max]x "y"').toString('utf8')) as { model: string };
    assert.equal(replaced.model, '[官Max]x "y"', `replaced in ${text.slice(0, 200)}`);
  }
}

describe('request body scan (model and stream without JSON.parse)', () => {
  it('reads model and stream from a plain chat body', () => {
    const got = scan('{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}');
    assert.deepEqual(got, { ok: true, model: 'gpt-4o', stream: true });
  });

  it('keys in any order, with any whitespace', () => {
    for (const text of [
      '{"messages":[],"stream":true,"model":"claude-sonnet-4-5-20250929"}',
      '{ "stream" : true , "model" : "x" }',
      '\n\t{\r\n  "temperature": 0.7,\n  "model":\t"x",\n  "stream": true\n}\n',
      '{"max_tokens":32,"model":"x","metadata":{"a":[1,2,{"b":null}]},"stream":true}',
    ]) {
      assertAgrees(text);
      const got = scan(text);
      assert.equal(got.ok && got.stream, true, text);
    }
  });

  it('stream is true only for the literal true', () => {
    for (const v of ['false', 'null', '"true"', '1', '0', '{}', '[]', '[true]']) {
      const got = scan(`{"model":"x","stream":${v}}`);
      assert.deepEqual(got, { ok: true, model: 'x', stream: false }, v);
    }
    assert.deepEqual(scan('{"model":"x"}'), { ok: true, model: 'x', stream: false });
  });

  it('nested "model" and "stream" keys do not count', () => {
    for (const text of [
      '{"messages":[{"role":"user","content":"x","model":"wrong"}],"stream":false}',
      '{"metadata":{"model":"wrong","stream":true}}',
      '{"tools":[{"function":{"parameters":{"properties":{"model":{"type":"string"}}}}}],"model":"right"}',
      '{"a":[[[{"model":"deep"}]]],"b":{"c":{"stream":true}}}',
      '{"messages":[{"content":"\\"model\\":\\"in a string\\", \\"stream\\": true"}]}',
    ]) {
      assertAgrees(text);
    }
    assert.equal((scan('{"metadata":{"model":"wrong"},"model":"right"}') as { model?: string }).model, 'right');
    assert.equal((scan('{"metadata":{"model":"wrong"}}') as { model?: string }).model, undefined);
  });

  it('a model that is not a string is no model', () => {
    for (const v of ['null', '42', 'true', '{"id":"x"}', '["x"]']) assert.deepEqual(scan(`{"model":${v}}`), { ok: true, stream: false }, v);
  });

  it('escapes in strings: quotes, backslashes, unicode escapes', () => {
    for (const text of [
      '{"messages":[{"content":"she said \\"hi\\""}],"model":"x"}',
      '{"messages":[{"content":"ends with a backslash \\\\"}],"model":"x"}',
      '{"messages":[{"content":"\\\\\\\\\\\\\\""}],"model":"x"}',
      '{"model":"a\\"b"}',
      '{"model":"tab\\tand\\\\slash\\/"}',
      '{"model":"\\u005bx\\u005d-\\ud83d\\ude00"}',
      '{"mod\\u0065l":"escaped key","stream":true}',
      '{"\\u0073tream":true,"model":"y"}',
      '{"model\\n":"not the key"}',
    ]) {
      assertAgrees(text);
    }
  });

  it('unicode: channel prefixes, Chinese, emoji, compared as bytes', () => {
    for (const model of ['[官Max]claude-sonnet-4-5-20250929', '模型-中文', 'x😀y', 'ä'.repeat(300)]) {
      const text = JSON.stringify({ messages: [{ role: 'user', content: '你好，世界 🌍 "quoted" \\ back' }], model, stream: true });
      assertAgrees(text);
      assert.equal((scan(text) as { model?: string }).model, model);
    }
  });

  it('the last duplicate wins, as in JSON.parse', () => {
    assertAgrees('{"model":"first","stream":true,"model":"second","stream":false}');
    assertAgrees('{"model":"first","model":null}');
    assertAgrees('{"stream":false,"stream":true}');
  });

  it('huge strings and deep histories: found, and the same as JSON.parse', () => {
    const history = Array.from({ length: 400 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i} ` + 'x\\"y'.repeat(60) }));
    const big = JSON.stringify({ messages: history, model: 'gpt-4o', stream: true, temperature: 1 });
    assert.ok(big.length > 100_000);
    assertAgrees(big);
    const oneString = JSON.stringify({ model: 'm', prompt: 'a'.repeat(5 * 1024 * 1024), stream: true });
    assert.deepEqual(scan(oneString), { ok: true, model: 'm', stream: true });
    const manyBackslashes = JSON.stringify({ prompt: '\\'.repeat(100_001) + '"', model: 'z' });
    assertAgrees(manyBackslashes);
  });

  describe('large bodies: the members before the first and after the last nested value', () => {
    const history = Array.from({ length: 300 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `第${i}幕 ` + 'a \\"quoted\\" line, '.repeat(8) }));
    const tools = Array.from({ length: 20 }, (_, i) => ({ name: `tool_${i}`, input_schema: { type: 'object', properties: { path: { type: 'string' } } } }));
    const big = (members: Array<[string, unknown]>) => `{${members.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(', ')}}`;

    it('agree with JSON.parse whatever the order (SillyTavern, Claude Code, SDK shapes)', () => {
      const shapes: Array<Array<[string, unknown]>> = [
        [['messages', history], ['model', 'deepseek-chat'], ['temperature', 1], ['stream', true]],
        [['model', '[官Max]claude-sonnet-4-5-20250929'], ['max_tokens', 32000], ['system', [{ type: 'text', text: 'x'.repeat(4000) }]], ['tools', tools], ['messages', history], ['metadata', { user_id: 'u' }], ['stream', true]],
        [['model', 'gpt-4o'], ['messages', history]],
        [['messages', history], ['stream', false], ['model', 'gpt-4o-mini']],
        [['messages', history], ['n', null], ['model', 7]],
        [['model', 'first'], ['messages', history], ['model', 'last wins']],
        [['model', 'only nested below'], ['messages', [{ model: 'not me', content: 'x'.repeat(20_000) }]]],
        [['messages', history], ['model', 'between'], ['tools', tools]],
        // The tail's model wins over one between the nested values (the last duplicate).
        [['model', 'head'], ['messages', history], ['model', 'between'], ['tools', tools], ['model', 'tail wins']],
        [['messages', history], ['model', 'between'], ['tools', tools], ['model', null]],
        [['messages', [{ content: 'say "model" and "stream"'.repeat(1000) }]], ['model', 'm']],
        // A `stream` between the nested values: the only one, or overriding the head's.
        [['messages', history], ['stream', true], ['tools', tools], ['model', 'm']],
        [['model', 'm'], ['stream', true], ['messages', history], ['stream', false], ['tools', tools]],
        [['stream', true], ['messages', history], ['stream', false], ['tools', tools], ['model', 'm']],
      ];
      // A key spelled with an escape is `model` to JSON.parse, at either end.
      assertAgrees(`{"mod\\u0065l":"escaped head",${big([['messages', history]]).slice(1)}`);
      assertAgrees(`${big([['messages', history]]).slice(0, -1)},"str\\u0065am":true,"mod\\u0065l":"escaped tail"}`);
      for (const members of shapes) {
        const text = big(members);
        assert.ok(text.length > 16 * 1024, `${text.length} bytes`);
        assertAgrees(text);
        assertAgrees(JSON.stringify(JSON.parse(text), null, 2));
      }
    });

    it('a stream written between two nested values counts, as in JSON.parse (the ends alone once missed it)', () => {
      const only = big([['model', 'm'], ['messages', history], ['stream', true], ['tools', tools]]);
      assert.deepEqual(scan(only), { ok: true, model: 'm', stream: true });
      const overridden = big([['stream', true], ['messages', history], ['stream', false], ['tools', tools], ['model', 'm']]);
      assert.deepEqual(scan(overridden), { ok: true, model: 'm', stream: false });
    });

    it('a broken or cut large body is still refused', () => {
      const text = big([['messages', history], ['model', 'x'], ['stream', true]]);
      for (const bad of [text.slice(0, -1), text.slice(0, text.length / 2) + '}', text.replace('"model":', '"model"'), text + ',', '[' + text.slice(1)]) {
        assert.equal(scan(bad).ok, false, `accepted ${bad.slice(-80)}`);
      }
    });
  });

  it('top-level numbers and literals in every JSON form', () => {
    for (const v of ['0', '-0', '12', '-3.25', '1e9', '1E-9', '2.5e+3', 'true', 'false', 'null']) assertAgrees(`{"n":${v},"model":"x"}`);
  });

  it('agrees with JSON.parse on 2,000 random bodies (seeded)', () => {
    const rnd = mulberry32(1234);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    const strings = ['', 'a', 'model', 'stream', '"', '\\', '\\"', '{', '}', '[', ']', ',', ':', '模型', '😀', '\n', '\u0001'];
    const str = () => Array.from({ length: Math.floor(rnd() * 5) }, () => pick(strings)).join('');
    const value = (depth: number): unknown => {
      const r = rnd();
      if (depth > 3 || r < 0.3) return pick([str(), 1, -2.5, 1e21, true, false, null]);
      if (r < 0.65) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(rnd() * 4); i++) o[pick(['model', 'stream', str(), 'content'])] = value(depth + 1);
      return o;
    };
    for (let n = 0; n < 2000; n++) {
      const top: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(rnd() * 6); i++) {
        const k = pick(['model', 'stream', 'messages', str()]);
        top[k] = k === 'model' && rnd() < 0.6 ? str() : k === 'stream' && rnd() < 0.6 ? rnd() < 0.5 : value(0);
      }
      const text = JSON.stringify(top, null, rnd() < 0.3 ? 2 : undefined);
      assertAgrees(text);
    }
  });

  describe('a broken skeleton is refused (the proxy answers 400 itself)', () => {
    const broken = [
      '',
      '   ',
      '{',
      '{"model":"gpt-4o","messages":[',
      '{"model": claude}',
      '{"input": "a",,}',
      '{"a":1,}',
      '{,"a":1}',
      '{"a" 1}',
      '{"a":}',
      '{a:1}',
      "{'a':1}",
      '{"model":"x"} trailing',
      '{"model":"x"}{"model":"y"}',
      '{"model":"unterminated}',
      '{"a":{"b":[1,2}',
      '{"a":tru}',
      '{"a":01}',
      '{"a":1.}',
      '{"a":-}',
      '{"a":1e}',
      '\ufeff{"model":"x"}',
    ];
    for (const text of broken) {
      it(JSON.stringify(text).slice(0, 60), () => {
        const got = scan(text);
        assert.equal(got.ok, false, `accepted ${JSON.stringify(text)}`);
        assert.throws(() => JSON.parse(text), 'the case must really be invalid JSON');
      });
    }

    it('valid JSON that is not an object: no API takes one', () => {
      for (const text of ['[1,2]', '"just a string"', '42', 'null', '[{"model":"x"}]']) {
        const got = scan(text);
        assert.equal(got.ok, false, text);
        assert.equal(!got.ok && got.reason, 'the body is not a JSON object');
      }
    });

    it('every strict prefix of a valid body is refused (unterminated)', () => {
      const text = JSON.stringify({ model: '[官Max]c"s', stream: true, messages: [{ role: 'user', content: 'a\\"b {[' }], n: -1.5e3, t: null });
      const bytes = Buffer.from(text, 'utf8');
      for (let i = 0; i < bytes.length; i++) {
        const got = scanRequestBody(bytes.subarray(0, i));
        assert.equal(got.ok, false, `prefix of ${i} bytes accepted: ${bytes.subarray(0, i).toString()}`);
      }
      assert.equal(scanRequestBody(bytes).ok, true);
    });
  });

  describe('deep errors are left to the gateway', () => {
    for (const text of [
      '{"model":"x","messages":[{"role":"user",,}]}',
      '{"model":"x","messages":[{"content":"a" "b"}]}',
      '{"model":"x","tools":[1 2 3]}',
      '{"model":"x","meta":{"a":nope}}',
      '{"model":"x","meta":{"a":[1,2}]}',
      '{"model":"x","bad":"\\q"}',
    ]) {
      it(JSON.stringify(text).slice(0, 60), () => {
        assert.throws(() => JSON.parse(text));
        const got = scan(text);
        assert.ok(got.ok, `refused: ${got.ok ? '' : got.reason}`);
        assert.equal(got.model, 'x');
      });
    }
  });

  it('runs of backslashes before a quote, near the opening quote and far from it', () => {
    for (let pad = 0; pad < 60; pad++) {
      for (let run = 0; run <= 5; run++) {
        // A run of `run` backslashes then a quote, inside a string value: escaped when odd.
        const inner = 'p'.repeat(pad) + '\\'.repeat(run) + (run % 2 ? '"' : '');
        const text = `{"prompt":"${inner}x","model":"m${pad}-${run}"}`;
        assertAgrees(text);
      }
    }
  });

  it('stringEnd honours runs of backslashes', () => {
    const b = Buffer.from('"a\\\\"b"');
    assert.equal(stringEnd(b, 0), 5);
    const c = Buffer.from('"a\\\\\\"b"');
    assert.equal(stringEnd(c, 0), 8);
    assert.equal(stringEnd(Buffer.from('"abc'), 0), -1);
  });
});
