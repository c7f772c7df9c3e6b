// Odd shapes of the platform's answers: the tolerant readers as a table, and PlatformClient
// over an undici MockAgent (no socket at all) for paging and login edge cases.

import * as assert from 'node:assert/strict';
import { MockAgent } from 'undici';
import { PlatformClient, PlatformError } from '../../src/core/platform/client';
import { isUsableOrder, parseAvailability, parseOrder, parsePrice, parseQuota, toFlag, toNumber, totalPagesOf } from '../../src/core/platform/parse';

const ORIGIN = 'http://platform.test';
const KEY1 = 'sk-' + 'a'.repeat(48);
const KEY2 = 'sk-' + 'b'.repeat(48);
const KEY3 = 'sk-' + 'c'.repeat(48);

describe('platform parsing (tolerant readers)', () => {
  it('toNumber reads numbers and numeric strings, nothing else', () => {
    const table: Array<[unknown, number | undefined]> = [
      [12.5, 12.5],
      ['12.50', 12.5],
      [' 7 ', 7],
      ['¥3.2', 3.2],
      ['1,234.5', 1234.5],
      [0, 0],
      ['0', 0],
      ['', undefined],
      ['abc', undefined],
      ['12abc', undefined],
      [null, undefined],
      [undefined, undefined],
      [NaN, undefined],
      [Infinity, undefined],
      [{}, undefined],
      [true, undefined],
    ];
    for (const [input, want] of table) assert.equal(toNumber(input), want, `toNumber(${JSON.stringify(input)})`);
  });

  it('toFlag treats only true-ish values as set', () => {
    for (const v of [true, 1, 'true', 'TRUE', '1']) assert.equal(toFlag(v), true, String(v));
    for (const v of [false, 0, 'false', '0', '', null, undefined, 'no']) assert.equal(toFlag(v), false, String(v));
  });

  it('isUsableOrder wants a key, state "success" and no error', () => {
    assert.equal(isUsableOrder({ key: KEY1, state: 'success' }), true);
    assert.equal(isUsableOrder({ api_key: KEY1, state: 'success', hasError: 'false' }), true);
    assert.equal(isUsableOrder({ key: KEY1, state: 'SUCCESS', hasError: 0 }), true);
    assert.equal(isUsableOrder({ key: KEY1, state: 'pending' }), false);
    assert.equal(isUsableOrder({ key: KEY1 }), false, 'no state');
    assert.equal(isUsableOrder({ key: KEY1, state: 'success', hasError: true }), false);
    assert.equal(isUsableOrder({ key: KEY1, state: 'success', hasError: 'true' }), false);
    assert.equal(isUsableOrder({ key: '', state: 'success' }), false);
    assert.equal(isUsableOrder({ key: null, state: 'success' }), false);
    assert.equal(isUsableOrder({ state: 'success' }), false);
  });

  it('parseOrder takes api_key, falls back for the name, and leaves missing numbers missing', () => {
    assert.deepEqual(parseOrder({ api_key: KEY1, payPackage: '包月', balance: '3.00', utilised: 1 }), { key: KEY1, name: '包月', package: '包月', balance: 3, used: 1 });
    assert.deepEqual(parseOrder({ key: KEY2 }), { key: KEY2, name: 'DaiDai key' });
    assert.deepEqual(parseOrder({ key: KEY2, name: '  ', balance: 'n/a', created_at: 1700000000 }), { key: KEY2, name: 'DaiDai key', createdAt: '1700000000' });
    assert.equal(parseOrder({ name: 'no key' }), undefined);
  });

  it('totalPagesOf reads the top level or msg, and says undefined when absent', () => {
    assert.equal(totalPagesOf({ totalPages: 3 }), 3);
    assert.equal(totalPagesOf({ totalPages: '4' }), 4);
    assert.equal(totalPagesOf({ msg: { list: [], totalPages: 2 } }), 2);
    assert.equal(totalPagesOf({ msg: [] }), undefined);
  });

  it('parseQuota, parsePrice and parseAvailability tolerate strings and gaps', () => {
    assert.deepEqual(parseQuota({ balance: '12.50', utilised: '3.20' }), { balance: 12.5, used: 3.2 });
    assert.deepEqual(parseQuota({ balance: 4 }), { balance: 4 });
    assert.deepEqual(parseQuota('nope'), {});

    assert.deepEqual(parsePrice({ all_name: 'm', is_price: '1', num: '3', price: '0.5' }), { model: 'm', perCall: 1.5 });
    assert.deepEqual(parsePrice({ all_name: 'm', is_price: 1, price: 0.2 }), { model: 'm', perCall: 0.2 }, 'num missing → 1');
    assert.deepEqual(parsePrice({ all_name: 'm', is_price: '0', input_price: '2', out_price: 8 }), { model: 'm', inputPerMillion: 2, outputPerMillion: 8 });
    assert.deepEqual(parsePrice({ all_name: 'm' }), { model: 'm' });
    assert.equal(parsePrice({ title: 'no model' }), undefined);

    assert.deepEqual(parseAvailability({ modelName: 'x', history: [{ weightedErrorRate: '2.5' }, { weightedErrorRate: 50 }] }), { modelName: 'x', availability: 97.5 });
    assert.deepEqual(parseAvailability({ modelName: 'x', history: [{ weightedErrorRate: 130 }] }), { modelName: 'x', availability: 0 });
    assert.deepEqual(parseAvailability({ modelName: 'x' }), { modelName: 'x' });
    assert.equal(parseAvailability({ history: [] }), undefined);
  });
});

describe('PlatformClient over a MockAgent (odd answers)', () => {
  let mock: MockAgent;

  beforeEach(() => {
    mock = new MockAgent();
    mock.disableNetConnect();
  });

  afterEach(async () => {
    await mock.close();
  });

  function jwt(payload: object): string {
    return `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2lnbmF0dXJlLXNpZ25hdHVyZQ`;
  }

  function client(opts: { pageSize?: number; maxPages?: number } = {}): PlatformClient {
    return new PlatformClient({ baseUrl: ORIGIN + '/', dispatcher: mock, ...opts });
  }

  /** Replies to the orders call with `pages(page)`; returns the pages asked for. */
  function orders(pages: (page: number, body: any) => object, times = 1000): number[] {
    const asked: number[] = [];
    mock
      .get(ORIGIN)
      .intercept({ path: '/api/general/orders', method: 'POST' })
      .reply((opts) => {
        const body = JSON.parse(String(opts.body));
        asked.push(body.page);
        return { statusCode: 200, data: pages(body.page, body) };
      })
      .times(times);
    return asked;
  }

  function login(reply: object): void {
    mock.get(ORIGIN).intercept({ path: '/api/users/login', method: 'POST' }).reply(200, reply).times(5);
  }

  it('takes the user id from the JWT when the login answer does not carry it, and sends userData as a string', async () => {
    login({ code: '200', token: jwt({ userId: 77 }), msg: '登录成功' });
    let sentUserData: unknown;
    orders((_p, body) => {
      sentUserData = body.userData;
      return { code: 200, msg: [{ api_key: KEY1, state: 'success' }], totalPages: 1 };
    });
    const c = client();
    const user = await c.login({ email: 'u@x', password: 'pw-123456' });
    assert.equal(user.userId, 77);
    assert.equal(user.userEmail, 'u@x');
    const keys = await c.listKeys();
    assert.deepEqual(keys, [{ key: KEY1, name: 'DaiDai key' }]);
    assert.equal(typeof sentUserData, 'string');
    assert.deepEqual(JSON.parse(sentUserData as string), { userId: 77 });
  });

  it('without totalPages, goes on while pages come back full and stops at a short one', async () => {
    login({ code: 200, token: 't0k3n-abcdef', msg: { userId: 1 } });
    const rows: Record<number, object[]> = {
      1: [{ key: KEY1, state: 'success' }, { key: KEY2, state: 'success' }],
      2: [{ key: KEY3, state: 'success' }],
    };
    const asked = orders((page) => ({ code: 200, msg: rows[page] ?? [] }));
    const c = client({ pageSize: 2 });
    await c.login({ email: 'u@x', password: 'pw-123456' });
    const keys = await c.listKeys();
    assert.deepEqual(keys.map((k) => k.key), [KEY1, KEY2, KEY3]);
    assert.deepEqual(asked, [1, 2]);
  });

  it('without totalPages, stops when a server ignores `page` and repeats itself', async () => {
    login({ code: 200, token: 't0k3n-abcdef', msg: { userId: 1 } });
    const asked = orders(() => ({ code: 200, msg: [{ key: KEY1, state: 'success' }, { key: KEY2, state: 'success' }] }));
    const c = client({ pageSize: 2 });
    await c.login({ email: 'u@x', password: 'pw-123456' });
    assert.equal((await c.listKeys()).length, 2);
    assert.deepEqual(asked, [1, 2]);
  });

  it('caps an absurd totalPages at maxPages', async () => {
    login({ code: 200, token: 't0k3n-abcdef', msg: { userId: 1 } });
    const asked = orders((page) => ({ code: 200, msg: [{ key: `sk-${String(page).padStart(48, '0')}`, state: 'success' }], totalPages: 1e9 }));
    const c = client({ maxPages: 5 });
    await c.login({ email: 'u@x', password: 'pw-123456' });
    assert.equal((await c.listKeys()).length, 5);
    assert.deepEqual(asked, [1, 2, 3, 4, 5]);
  });

  it('stops at an empty page even when totalPages says more', async () => {
    login({ code: 200, token: 't0k3n-abcdef', msg: { userId: 1 } });
    const asked = orders((page) => ({ code: 200, msg: page === 1 ? [{ key: KEY1, state: 'success' }] : [], totalPages: 9 }));
    const c = client();
    await c.login({ email: 'u@x', password: 'pw-123456' });
    assert.equal((await c.listKeys()).length, 1);
    assert.deepEqual(asked, [1, 2]);
  });

  it('reads orders nested in msg.list, and fills a duplicate\'s missing balance from its later order', async () => {
    login({ code: 200, token: 't0k3n-abcdef', msg: { userId: 1 } });
    orders(() => ({
      code: 200,
      msg: {
        list: [
          { key: KEY1, state: 'success', name: 'first' },
          { key: KEY1, state: 'success', name: 'renewal', balance: '9.90' },
          { key: KEY2, state: 'success', hasError: 1 },
          'garbage',
          null,
        ],
        totalPages: 1,
      },
    }));
    const c = client();
    await c.login({ email: 'u@x', password: 'pw-123456' });
    assert.deepEqual(await c.listKeys(), [{ key: KEY1, name: 'first', balance: 9.9 }]);
  });

  it('calls an answer without orders, a login without token, and an envelope without code protocol errors', async () => {
    login({ code: 200, token: 't0k3n-abcdef', msg: { userId: 1 } });
    orders(() => ({ code: 200, msg: 'ok' }));
    const c = client();
    await c.login({ email: 'u@x', password: 'pw-123456' });
    const noRows = await c.listKeys().then(
      () => assert.fail('expected a failure'),
      (e) => e,
    );
    assert.ok(noRows instanceof PlatformError && noRows.kind === 'protocol', String(noRows));

    const other = 'http://other.test';
    const at = (base: string) => new PlatformClient({ baseUrl: base, dispatcher: mock });
    mock.get(other).intercept({ path: '/api/users/login', method: 'POST' }).reply(200, { code: 200, msg: { userId: 1 } });
    await assert.rejects(at(other).login({ email: 'u@x', password: 'pw-123456' }), (e: unknown) => e instanceof PlatformError && e.kind === 'protocol' && /no session token/.test(e.message));
    mock.get(other).intercept({ path: '/api/users/login', method: 'POST' }).reply(200, { token: 't0k3n-abcdef', msg: { userId: 1 } });
    await assert.rejects(at(other).login({ email: 'u@x', password: 'pw-123456' }), (e: unknown) => e instanceof PlatformError && e.kind === 'protocol' && /without a result code/.test(e.message));
  });

  it('accepts the monitor in an envelope too, and refuses nonsense', async () => {
    const pool = mock.get(ORIGIN);
    pool.intercept({ path: '/api/monitors/status' }).reply(200, { code: 200, msg: [{ model_name: 'm', history: [{ weightedErrorRate: 10 }] }] });
    assert.deepEqual(await client().monitor(), [{ modelName: 'm', availability: 90 }]);
    pool.intercept({ path: '/api/monitors/status' }).reply(200, { code: 200, msg: 'none' });
    await assert.rejects(client().monitor(), (e: unknown) => e instanceof PlatformError && e.kind === 'protocol');
  });

  it('fails every call on a base URL that is not http(s), naming the setting to check', async () => {
    for (const baseUrl of ['ftp://x', 'not a url']) {
      const c = new PlatformClient({ baseUrl, dispatcher: mock });
      await assert.rejects(c.login({ email: 'u@x', password: 'pw-123456' }), (e: unknown) => e instanceof PlatformError && e.kind === 'network' && /daidai\.platform\.baseUrl/.test(e.message));
      await assert.rejects(c.monitor(), /daidai\.platform\.baseUrl/);
    }
  });

  it('keeps a path prefix of the base URL', async () => {
    mock.get(ORIGIN).intercept({ path: '/daidai/api/monitors/status' }).reply(200, []);
    const c = new PlatformClient({ baseUrl: `${ORIGIN}/daidai/`, dispatcher: mock });
    assert.deepEqual(await c.monitor(), []);
  });
});
