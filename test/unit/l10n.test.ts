import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { bilingual, cliLanguage, initFromVscodeBundle, language, parseLanguage, prefersChinese, setLanguage, t } from '../../src/core/l10n';

const root = [path.resolve(__dirname, '../../..'), path.resolve(__dirname, '../..')].find((d) => existsSync(path.join(d, 'package.json')))!;
const zh = JSON.parse(readFileSync(path.join(root, 'l10n', 'bundle.l10n.zh-cn.json'), 'utf8')) as Record<string, string>;

// Messages that exist in the bundle, so that these tests follow the real translations.
const NO_KEY = 'No key is usable right now: requests will fail until one recovers.';
const LAST_START = 'Last start failed: {0}';

describe('l10n: t and setLanguage', () => {
  afterEach(() => setLanguage('en'));

  it('speaks English by default, with {0} placeholders filled', () => {
    assert.equal(language(), 'en');
    assert.equal(t(NO_KEY), NO_KEY);
    assert.equal(t(LAST_START, 'port in use'), 'Last start failed: port in use');
  });

  it('speaks Chinese after setLanguage(zh-cn), from l10n/bundle.l10n.zh-cn.json, and English again after', () => {
    setLanguage('zh-cn');
    assert.equal(language(), 'zh-cn');
    assert.equal(t(NO_KEY), zh[NO_KEY]);
    assert.notEqual(t(NO_KEY), NO_KEY);
    assert.equal(t(LAST_START, 'EADDRINUSE'), zh[LAST_START].replace('{0}', 'EADDRINUSE'));
    setLanguage('en');
    assert.equal(t(NO_KEY), NO_KEY);
  });

  it('falls back to the English source text for a message the bundle lacks', () => {
    setLanguage('zh-cn');
    assert.equal(t('A message no bundle has: {0}', 7), 'A message no bundle has: 7');
  });

  it('takes the extension bundle as VS Code hands it over', () => {
    initFromVscodeBundle({ [NO_KEY]: '一条来自 VS Code 的译文' }, 'zh-cn');
    assert.equal(language(), 'zh-cn');
    assert.equal(t(NO_KEY), '一条来自 VS Code 的译文');
    initFromVscodeBundle(JSON.stringify({ [NO_KEY]: '字符串形式' }), 'zh-cn');
    assert.equal(t(NO_KEY), '字符串形式');
    initFromVscodeBundle(undefined, 'en');
    assert.equal(language(), 'en');
    assert.equal(t(NO_KEY), NO_KEY);
    // Chinese display language but no bundle handed over: the core still reads its own.
    initFromVscodeBundle(undefined, 'zh-cn');
    assert.equal(t(NO_KEY), zh[NO_KEY]);
    // A display language we have no translation for (VS Code gives no bundle then): English.
    initFromVscodeBundle(undefined, 'de');
    assert.equal(language(), 'en');
    assert.equal(t(NO_KEY), NO_KEY);
  });
});

describe('l10n: cliLanguage', () => {
  const cases: Array<[Record<string, string | undefined>, string | undefined, 'en' | 'zh-cn']> = [
    [{}, undefined, 'en'],
    [{ LANG: 'zh_CN.UTF-8' }, undefined, 'zh-cn'],
    [{ LANG: 'zh_TW.UTF-8' }, undefined, 'zh-cn'],
    [{ LANG: 'zh' }, undefined, 'zh-cn'],
    [{ LANG: 'en_US.UTF-8' }, undefined, 'en'],
    [{ LANG: 'de_DE.UTF-8' }, undefined, 'en'],
    [{ LANG: 'C' }, undefined, 'en'],
    [{ LANG: 'C.UTF-8' }, undefined, 'en'],
    [{ LANG: 'POSIX' }, undefined, 'en'],
    // LC_ALL overrides LC_MESSAGES, which overrides LANG
    [{ LC_ALL: 'en_US.UTF-8', LC_MESSAGES: 'zh_CN.UTF-8', LANG: 'zh_CN.UTF-8' }, undefined, 'en'],
    [{ LC_ALL: 'zh_CN.UTF-8', LANG: 'en_US.UTF-8' }, undefined, 'zh-cn'],
    [{ LC_MESSAGES: 'zh_CN.UTF-8', LANG: 'en_US.UTF-8' }, undefined, 'zh-cn'],
    [{ LC_MESSAGES: 'C', LANG: 'zh_CN.UTF-8' }, undefined, 'en'],
    // an empty variable counts as unset
    [{ LC_ALL: '', LC_MESSAGES: '', LANG: 'zh_CN.UTF-8' }, undefined, 'zh-cn'],
    // --lang wins
    [{ LANG: 'zh_CN.UTF-8' }, 'en', 'en'],
    [{ LC_ALL: 'en_US.UTF-8' }, 'zh-cn', 'zh-cn'],
    [{}, 'zh-CN', 'zh-cn'],
    // an unknown --lang is left to the CLI to report (parseLanguage → undefined); the env decides
    [{ LANG: 'zh_CN.UTF-8' }, 'klingon', 'zh-cn'],
  ];
  for (const [env, flag, expected] of cases) {
    it(`${JSON.stringify(env)}${flag ? ` --lang ${flag}` : ''} → ${expected}`, () => {
      assert.equal(cliLanguage(env, flag), expected);
    });
  }

  it('parses language names and says when it cannot', () => {
    assert.equal(parseLanguage('zh-cn'), 'zh-cn');
    assert.equal(parseLanguage('zh-Hans'), 'zh-cn');
    assert.equal(parseLanguage('en'), 'en');
    assert.equal(parseLanguage('en-GB'), 'en');
    assert.equal(parseLanguage('zhx'), undefined);
    assert.equal(parseLanguage('fr'), undefined);
    assert.equal(parseLanguage(undefined), undefined);
  });
});

describe('l10n: bilingual (the proxy’s own error answers)', () => {
  afterEach(() => setLanguage('en'));

  it('reads which language Accept-Language puts first', () => {
    assert.equal(prefersChinese('zh-CN,zh;q=0.9,en;q=0.8'), true);
    assert.equal(prefersChinese('zh'), true);
    assert.equal(prefersChinese('en-US,en;q=0.9,zh-CN;q=0.8'), false);
    assert.equal(prefersChinese('en;q=0.5, zh-CN;q=0.8'), true);
    assert.equal(prefersChinese('*, zh;q=0.1'), true);
    assert.equal(prefersChinese('zh;q=0, en'), false);
    assert.equal(prefersChinese(''), false);
    assert.equal(prefersChinese(undefined), false);
  });

  it('answers in English only for an English request from an English proxy', () => {
    assert.equal(bilingual(NO_KEY, undefined), NO_KEY);
    assert.equal(bilingual(NO_KEY, 'en-US,en;q=0.9'), NO_KEY);
  });

  it('puts the Chinese after the English when the request prefers Chinese', () => {
    assert.equal(bilingual(NO_KEY, 'zh-CN,zh;q=0.9'), `${NO_KEY} / ${zh[NO_KEY]}`);
    assert.equal(bilingual(LAST_START, 'zh', 'HTTP 502'), `Last start failed: HTTP 502 / ${zh[LAST_START].replace('{0}', 'HTTP 502')}`);
  });

  it('puts the Chinese after the English when the proxy speaks Chinese, whatever the request asks', () => {
    setLanguage('zh-cn');
    assert.equal(bilingual(NO_KEY, undefined), `${NO_KEY} / ${zh[NO_KEY]}`);
    assert.equal(bilingual(NO_KEY, 'en-US'), `${NO_KEY} / ${zh[NO_KEY]}`);
  });

  it('passes a platform message through as it is, and stays English for an untranslated message', () => {
    const platform = '该令牌额度已用尽';
    assert.equal(bilingual(LAST_START, 'zh-CN', platform), `Last start failed: ${platform} / ${zh[LAST_START].replace('{0}', platform)}`);
    assert.equal(bilingual('Not in any bundle: {0}', 'zh-CN', platform), `Not in any bundle: ${platform}`);
  });
});
