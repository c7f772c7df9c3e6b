// The dashboard page's HTML (a strict CSP with a nonce, nothing remote, no inline handler) and
// the gate that throttles posts to it, on a fake clock.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { dashboardHtml, DashboardUpdates, makeNonce } from '../../src/vscode/dashboardWebview';
import type { Timers } from '../../src/core/util/throttle';

const ROOT = [path.resolve(__dirname, '../../..'), path.resolve(__dirname, '../..')].find((d) => {
  try {
    readFileSync(path.join(d, 'package.json'));
    return true;
  } catch {
    return false;
  }
})!;

const CSP_SOURCE = 'https://file+.vscode-resource.vscode-cdn.net';
const page = (nonce?: string) =>
  dashboardHtml({
    cspSource: CSP_SOURCE,
    scriptUri: `${CSP_SOURCE}/ext/media/dashboard/dashboard.js`,
    styleUri: `${CSP_SOURCE}/ext/media/dashboard/dashboard.css`,
    nonce,
    lang: 'zh-CN',
    title: 'DaiDai 用量面板',
  });

function csp(html: string): Map<string, string[]> {
  const m = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
  assert.ok(m, 'the page has a CSP meta tag');
  const policy = m[1]!.replace(/&#39;|&apos;/g, "'");
  return new Map(policy.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
}

describe('dashboard: the page HTML', () => {
  it('has a strict policy: nothing by default, scripts only with the nonce, styles and images from the extension', () => {
    const html = page('n0nce+/=');
    const p = csp(html);
    assert.deepEqual(p.get('default-src'), ["'none'"]);
    assert.deepEqual(p.get('script-src'), ["'nonce-n0nce+/='"]);
    assert.deepEqual(p.get('style-src'), [CSP_SOURCE]);
    assert.deepEqual(p.get('img-src'), [CSP_SOURCE]);
    for (const [name, values] of p) {
      assert.ok(!values.some((v) => /unsafe-inline|unsafe-eval|\*|^https?:$|data:/.test(v)), `${name} allows ${values.join(' ')}`);
    }
  });

  it('puts the nonce on every script, and has no inline script or style', () => {
    const html = page('abc123');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 1, 'the page loads its script');
    for (const [, attrs, body] of scripts) {
      assert.match(attrs!, /\bnonce="abc123"/);
      assert.match(attrs!, /\bsrc="[^"]+dashboard\.js"/);
      assert.equal(body!.trim(), '', 'no inline script body');
    }
    assert.doesNotMatch(html, /<style\b/i);
    assert.doesNotMatch(html, /\sstyle=/i);
  });

  it('has no inline event handler and no javascript: URL', () => {
    const html = page();
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i);
    assert.doesNotMatch(html, /javascript:/i);
  });

  it('loads nothing from the network: every URL is the webview resource origin', () => {
    const html = page();
    const urls = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.equal(urls.length, 2);
    for (const u of urls) assert.ok(u.startsWith(CSP_SOURCE), u);
    assert.deepEqual([...html.matchAll(/https?:\/\/[^\s"'<>]+/g)].map((m) => m[0]).filter((u) => !u.startsWith(CSP_SOURCE)), []);
  });

  it('makes a fresh nonce for every page, and escapes what it puts in attributes', () => {
    const a = csp(page()).get('script-src')![0];
    const b = csp(page()).get('script-src')![0];
    assert.notEqual(a, b);
    assert.match(makeNonce(), /^[A-Za-z0-9+/]{22}==$/);
    const evil = dashboardHtml({ cspSource: CSP_SOURCE, scriptUri: 'x" onload="alert(1)', styleUri: 's', title: '<img src=x onerror=alert(1)>' });
    assert.ok(evil.includes('src="x&quot; onload=&quot;alert(1)"'), 'the quote is escaped: onload stays inside the value');
    assert.doesNotMatch(evil, /<img/);
  });

  it('the page script and style hold no remote URL, no inline handler and no colour of their own', () => {
    const js = readFileSync(path.join(ROOT, 'media/dashboard/dashboard.js'), 'utf8');
    const css = readFileSync(path.join(ROOT, 'media/dashboard/dashboard.css'), 'utf8');
    assert.deepEqual(js.match(/https?:\/\/(?!www\.w3\.org\/2000\/svg)[^\s'"]+/g), null);
    assert.doesNotMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|eval\(|new Function/);
    assert.doesNotMatch(js, /setAttribute\(\s*['"](on|style)/);
    assert.deepEqual(css.match(/url\(/g), null);
    // Theme colours only: no hex, rgb() or named colour outside var(--vscode-…).
    const values = [...css.matchAll(/(?:^|[;{\s])(color|background|fill|stroke|border(?:-[a-z]+)*|outline)\s*:\s*([^;]+);/g)].map((m) => m[2]!);
    for (const v of values) {
      const bare = v.replace(/var\(--vscode-[\w-]+(?:,\s*(?:var\(--vscode-[\w-]+(?:,\s*[^()]+)?\)|[^()]+))?\)/g, '');
      assert.doesNotMatch(bare, /#[0-9a-f]{3,8}\b|rgba?\(|hsla?\(|\b(white|black|red|green|blue|gray|grey)\b/i, `a colour not from the theme: ${v}`);
    }
  });

  it('the page script holds no English of its own (its words come in the posted text)', () => {
    const js = readFileSync(path.join(ROOT, 'media/dashboard/dashboard.js'), 'utf8');
    const sf = ts.createSourceFile('dashboard.js', js, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
    const literals: string[] = [];
    const visit = (n: ts.Node) => {
      if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) literals.push(n.text);
      else if (ts.isTemplateExpression(n)) literals.push(n.head.text, ...n.templateSpans.map((sp) => sp.literal.text));
      ts.forEachChild(n, visit);
    };
    visit(sf);
    assert.ok(literals.length > 50, 'the parser found the literals');
    // Class lists (`card balance`) are not words a person reads: each is a selector of the style.
    const css = readFileSync(path.join(ROOT, 'media/dashboard/dashboard.css'), 'utf8');
    const isClassList = (s: string) => s.split(' ').every((w) => css.includes(`.${w}`));
    const sentences = literals.filter((s) => /[A-Za-z]{2,}\s+[A-Za-z]{2,}/.test(s) && s !== 'use strict' && !isClassList(s));
    assert.deepEqual(sentences, []);
  });
});

/** A clock the test moves by hand. */
function fakeTimers(): Timers & { advance(ms: number): void; pending(): number } {
  let now = 1_000_000;
  let next = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = next++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h) => void timers.delete(h as number),
    advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = until;
    },
    pending: () => timers.size,
  };
}

describe('dashboard: posts to the page', () => {
  it('posts the first change at once, then at most once a second while changes flow', () => {
    const clock = fakeTimers();
    let posts = 0;
    const u = new DashboardUpdates(() => posts++, { timers: clock, intervalMs: 1000 });
    u.changed();
    assert.equal(posts, 1);
    // 100 requests within 900 ms: one post at the end of the interval, not 100.
    for (let i = 0; i < 100; i++) {
      clock.advance(9);
      u.changed();
    }
    assert.equal(posts, 1);
    clock.advance(200);
    assert.equal(posts, 2);
    // A burst over 5 s: about one post per second.
    for (let i = 0; i < 500; i++) {
      clock.advance(10);
      u.changed();
    }
    clock.advance(1000);
    assert.ok(posts >= 6 && posts <= 8, `posts: ${posts}`);
    u.dispose();
  });

  it('posts nothing while hidden, and once when shown again', () => {
    const clock = fakeTimers();
    let posts = 0;
    const u = new DashboardUpdates(() => posts++, { timers: clock, visible: false });
    for (let i = 0; i < 50; i++) {
      u.changed();
      clock.advance(100);
    }
    assert.equal(posts, 0);
    u.setVisible(true);
    assert.equal(posts, 1);
    u.setVisible(false);
    clock.advance(5000);
    assert.equal(posts, 1);
    // Shown again without a change in between: the page is fresh, nothing to post.
    u.setVisible(true);
    assert.equal(posts, 1);
    u.dispose();
  });

  it('drops a post that was due when the panel got hidden', () => {
    const clock = fakeTimers();
    let posts = 0;
    const u = new DashboardUpdates(() => posts++, { timers: clock });
    u.changed();
    u.changed(); // due at the end of the interval
    u.setVisible(false);
    clock.advance(2000);
    assert.equal(posts, 1);
    u.setVisible(true);
    assert.equal(posts, 2, 'the change that came while hidden is posted when shown');
    u.dispose();
  });

  it('posts at once when the page asks (it was rebuilt), and nothing after dispose', () => {
    const clock = fakeTimers();
    let posts = 0;
    const u = new DashboardUpdates(() => posts++, { timers: clock });
    u.changed();
    u.now();
    assert.equal(posts, 2);
    u.changed();
    u.dispose();
    clock.advance(5000);
    u.changed();
    assert.equal(posts, 2);
    assert.equal(clock.pending(), 0);
  });
});
