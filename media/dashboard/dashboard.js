// The DaiDai dashboard page. It draws what the extension posts ({ type: 'update', model, text }):
// numbers and words both come from there (src/core/usage/dashboard.ts, src/vscode/dashboardPanel.ts),
// so this script computes no sums and holds no words of its own. DOM is built with
// textContent only (model names come from clients), charts are plain SVG.
// @ts-check
(function () {
  'use strict';
  // eslint-disable-next-line no-undef
  const vscode = acquireVsCodeApi();
  const SVG = 'http://www.w3.org/2000/svg';

  /** What survives the panel being hidden: the choices, and the last model to draw at once. */
  const saved = vscode.getState() || {};
  const state = {
    period: saved.period || 'today',
    filters: Object.assign({ model: '', key: '', status: '' }, saved.filters || {}),
    model: saved.model,
    text: saved.text,
  };

  function save() {
    vscode.setState(state);
  }

  /** @param {string} tag @param {Record<string,string>} [attrs] @param {(Node|string)[]} [children] */
  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children || []) e.append(c);
    return e;
  }

  /** @param {string} tag @param {Record<string,string|number>} [attrs] */
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }

  function fill(template, ...args) {
    return String(template).replace(/\{(\d+)\}/g, (m, i) => (args[Number(i)] !== undefined ? String(args[Number(i)]) : m));
  }

  function yuan(n) {
    if (!(n > 0)) return '¥0.00';
    return n < 0.005 ? '<¥0.01' : '¥' + n.toFixed(2);
  }

  function count(n) {
    return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }

  function clock(ms) {
    const d = new Date(ms);
    const two = (x) => (x < 10 ? '0' + x : String(x));
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  // ---- the frame, built once: updates only refill its parts (an open <select> stays open) ----
  const app = /** @type {HTMLElement} */ (document.getElementById('app'));
  const parts = {};

  function buildFrame(text) {
    app.replaceChildren();
    app.removeAttribute('aria-busy');
    parts.updated = el('span', { class: 'muted', 'data-testid': 'updated' });
    parts.exportButton = el('button', { type: 'button', class: 'button', 'data-testid': 'export', text: text.exportUsage });
    parts.exportButton.addEventListener('click', () => vscode.postMessage({ type: 'exportUsage' }));
    app.append(el('header', { class: 'top' }, [el('h1', { text: text.title }), parts.updated, el('span', { class: 'spacer' }), parts.exportButton]));

    parts.balance = el('div', { class: 'card', 'data-testid': 'balance' });
    parts.spend = el('div', { class: 'card', 'data-testid': 'spend-card' });
    parts.tokens = el('div', { class: 'card', 'data-testid': 'tokens-card' });
    parts.requests = el('div', { class: 'card', 'data-testid': 'requests-card' });
    parts.tabs = el('div', { class: 'tabs', role: 'tablist' });
    app.append(parts.tabs, el('section', { class: 'cards' }, [parts.balance, parts.spend, parts.tokens, parts.requests]));

    parts.seriesTitle = el('h2');
    parts.series = el('div', { class: 'chart', 'data-testid': 'series' });
    parts.note = el('p', { class: 'muted note' });
    app.append(el('section', {}, [parts.seriesTitle, parts.series, parts.note]));

    parts.byModel = el('div', { 'data-testid': 'by-model' });
    parts.modelNote = el('p', { class: 'muted note', 'data-testid': 'cache-note' });
    parts.byKey = el('div', { 'data-testid': 'by-key' });
    app.append(
      el('section', { class: 'two wide' }, [
        el('div', {}, [el('h2', { text: text.byModel }), parts.byModel, parts.modelNote]),
        el('div', {}, [el('h2', { text: text.byKey }), parts.byKey]),
      ]),
    );

    parts.liveTitle = el('h2', { text: text.live });
    parts.liveStats = el('div', { class: 'stats', 'data-testid': 'live' });
    parts.perMinute = el('div', { class: 'chart small' });
    parts.errors = el('div', { 'data-testid': 'errors' });
    parts.partial = el('p', { class: 'muted note' });
    app.append(
      el('section', {}, [
        parts.liveTitle,
        parts.liveStats,
        el('div', { class: 'two' }, [
          el('div', {}, [el('h3', { text: text.perMinute }), parts.perMinute, parts.partial]),
          el('div', {}, [el('h3', { text: text.errorsByReason }), parts.errors]),
        ]),
      ]),
    );

    parts.pool = el('div', { 'data-testid': 'pool' });
    app.append(el('section', {}, [el('h2', { text: text.pool }), parts.pool]));

    parts.fModel = el('select', { 'aria-label': text.model, 'data-testid': 'filter-model' });
    parts.fKey = el('select', { 'aria-label': text.key, 'data-testid': 'filter-key' });
    parts.fStatus = el('select', { 'aria-label': text.status, 'data-testid': 'filter-status' });
    parts.recentCount = el('span', { class: 'muted' });
    for (const [sel, name] of [
      [parts.fModel, 'model'],
      [parts.fKey, 'key'],
      [parts.fStatus, 'status'],
    ]) {
      sel.addEventListener('change', () => {
        state.filters[name] = sel.value;
        save();
        drawRecent();
      });
    }
    parts.recent = el('div', { 'data-testid': 'recent' });
    app.append(
      el('section', {}, [
        el('h2', { text: text.recent }),
        el('div', { class: 'filters' }, [parts.fModel, parts.fKey, parts.fStatus, parts.recentCount]),
        parts.recent,
      ]),
    );
    parts.builtFor = text;
  }

  // ---- pieces ----

  function card(target, label, value, sub, testid) {
    target.replaceChildren(el('div', { class: 'label', text: label }), el('div', { class: 'value', 'data-testid': testid, text: value }), el('div', { class: 'muted', text: sub || '' }));
  }

  /**
   * A bar chart: one bar per point, the value's height against the largest. `stack` draws a
   * second value (failures) at the bottom of each bar in the error colour.
   */
  function barChart(container, points, valueOf, { title, stackOf, height = 120 } = {}) {
    // Drawn at the container's own width (and again on resize): a stretched viewBox would
    // stretch the labels too.
    const w = Math.max(200, Math.floor(container.clientWidth || 600));
    const h = height;
    const pad = { top: 8, bottom: 18, left: 2, right: 2 };
    const max = Math.max(0, ...points.map(valueOf));
    const root = svg('svg', { viewBox: `0 0 ${w} ${h}`, width: w, height: h, class: 'bars', role: 'img' });
    root.append(svg('line', { x1: 0, x2: w, y1: h - pad.bottom + 0.5, y2: h - pad.bottom + 0.5, class: 'axis' }));
    const n = points.length || 1;
    const slot = (w - pad.left - pad.right) / n;
    const barW = Math.max(1, slot * 0.7);
    const inner = h - pad.top - pad.bottom;
    // About one label per 70 px, counted from the newest so the last point always has one.
    const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(w / 70))));
    points.forEach((p, i) => {
      const v = valueOf(p);
      const x = pad.left + i * slot + (slot - barW) / 2;
      const bh = max > 0 ? (v / max) * inner : 0;
      const g = svg('g');
      const t = svg('title');
      t.textContent = title(p);
      g.append(t);
      // A full-height invisible target so thin bars still show their tooltip.
      g.append(svg('rect', { x: pad.left + i * slot, y: pad.top, width: slot, height: inner, class: 'hit' }));
      if (bh > 0) g.append(svg('rect', { x, y: h - pad.bottom - bh, width: barW, height: bh, class: 'bar' }));
      const s = stackOf ? stackOf(p) : 0;
      if (s > 0 && max > 0) {
        const sh = (s / max) * inner;
        g.append(svg('rect', { x, y: h - pad.bottom - sh, width: barW, height: sh, class: 'bar fail' }));
      }
      if ((n - 1 - i) % every === 0) {
        const mid = pad.left + i * slot + slot / 2;
        // Labels at the edges are anchored inside the chart, not cut in half.
        const anchor = mid < 24 ? 'start' : mid > w - 24 ? 'end' : 'middle';
        const lx = anchor === 'start' ? pad.left + i * slot : anchor === 'end' ? pad.left + (i + 1) * slot : mid;
        const label = svg('text', { x: lx, y: h - 4, class: 'tick', 'text-anchor': anchor });
        label.textContent = p.label;
        g.append(label);
      }
      root.append(g);
    });
    return root;
  }

  function shareBar(share) {
    const s = svg('svg', { viewBox: '0 0 100 8', class: 'share', preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    s.append(svg('rect', { x: 0, y: 0, width: 100, height: 8, class: 'track' }));
    if (share > 0) s.append(svg('rect', { x: 0, y: 0, width: Math.max(1, Math.min(100, share * 100)), height: 8, class: 'bar' }));
    return s;
  }

  /** @param {string[]} head @param {(string|Node)[][]} rows @param {string[]} [numeric] */
  function table(head, rows, numeric, rowClass) {
    const num = new Set(numeric || []);
    const thead = el('thead', {}, [el('tr', {}, head.map((h, i) => el('th', { class: num.has(String(i)) ? 'num' : '', scope: 'col', text: h })))]);
    const tbody = el('tbody');
    rows.forEach((r, ri) => {
      const tr = el('tr', rowClass ? { class: rowClass(ri) } : {});
      r.forEach((c, i) => {
        const td = el('td', { class: num.has(String(i)) ? 'num' : '' });
        td.append(c);
        tr.append(td);
      });
      tbody.append(tr);
    });
    // Wide tables scroll sideways instead of squeezing ids onto three lines.
    return el('div', { class: 'scroll' }, [el('table', {}, [thead, tbody])]);
  }

  function setOptions(sel, options, value) {
    const sig = JSON.stringify(options);
    if (sel.dataset.sig !== sig) {
      sel.replaceChildren(...options.map(([v, label]) => el('option', { value: v, text: label })));
      sel.dataset.sig = sig;
    }
    sel.value = options.some(([v]) => v === value) ? value : '';
  }

  // ---- drawing ----

  function draw() {
    const { model, text } = state;
    if (!model || !text) return;
    if (parts.builtFor === undefined || JSON.stringify(parts.builtFor) !== JSON.stringify(text)) buildFrame(text);
    parts.updated.textContent = fill(text.updated, clock(model.generatedAt));

    // Period tabs.
    if (!model.periods.some((p) => p.id === state.period)) state.period = 'today';
    parts.tabs.replaceChildren(
      ...model.periods.map((p) => {
        const b = el('button', { type: 'button', role: 'tab', class: 'tab', 'aria-selected': String(p.id === state.period), 'data-period': p.id, text: p.label });
        b.addEventListener('click', () => {
          state.period = p.id;
          save();
          draw();
        });
        return b;
      }),
    );
    const period = model.periods.find((p) => p.id === state.period);

    // Balance and forecast.
    const b = model.balance;
    if (b) {
      card(parts.balance, text.balance, b.text, b.forecastText || '', 'balance-value');
      parts.balance.querySelector('.muted').setAttribute('data-testid', 'forecast');
      if (b.rateText) parts.balance.append(el('div', { class: 'muted small', text: `${text.rate} ${b.rateText} · ${b.basis === 'account' ? text.basisAccount : text.basisEstimate}` }));
    } else {
      card(parts.balance, text.balance, '—', text.noBalance, 'balance-value');
    }

    const tot = period.total;
    card(parts.spend, `${text.spend} · ${period.label}`, tot.costText, tot.utilisedText ? `${text.accountFigure} ${tot.utilisedText}` : '', 'period-spend');
    card(
      parts.tokens,
      text.tokens,
      count(tot.inputTokens + tot.outputTokens),
      `${text.input} ${tot.inputText} · ${text.output} ${tot.outputText}` + (tot.cacheTokens > 0 ? ` · ${text.cacheHit} ${tot.cacheHitText}` : ''),
      'period-tokens',
    );
    if (tot.cacheTokens > 0) parts.tokens.querySelector('.muted').setAttribute('title', tot.cacheDetailText);
    card(parts.requests, text.requests, tot.requestsText, `${text.failures} ${count(tot.failures)}`, 'period-requests');

    parts.seriesTitle.textContent = period.id === 'today' ? text.spendPerHour : text.spendPerDay;
    parts.series.replaceChildren(
      barChart(parts.series, period.series, (p) => p.costCny, {
        title: (p) => `${p.label}: ${yuan(p.costCny)} · ${count(p.requests)} ${text.requests} · ${count(p.tokens)} ${text.tokens}`,
      }),
    );
    parts.note.textContent = tot.unpricedRequests > 0 ? text.unpricedNote : '';

    parts.byModel.replaceChildren(
      period.byModel.length === 0
        ? el('p', { class: 'muted', text: text.noRequests })
        : table(
            [text.model, text.requests, text.input, text.output, text.cacheHit, text.cost, text.share],
            period.byModel.map((r) => [
              // The model that served, and under it the names clients asked for it by.
              r.requestedAsText ? el('div', {}, [el('div', { text: r.label }), el('div', { class: 'muted small', 'data-testid': 'requested-as', text: r.requestedAsText })]) : r.label,
              r.requestsText,
              r.inputText,
              r.outputText,
              el('span', { title: r.cacheDetailText, 'data-testid': 'cache-hit', text: r.cacheHitText }),
              r.costText,
              shareBar(r.share),
            ]),
            ['1', '2', '3', '4', '5'],
          ),
    );
    parts.modelNote.textContent = tot.cacheTokens > 0 ? (tot.cacheHitAtLeast ? `${text.cacheNote} ${text.cacheAtLeastNote}` : text.cacheNote) : '';
    parts.byKey.replaceChildren(
      period.byKey.length === 0
        ? el('p', { class: 'muted', text: text.noRequests })
        : table(
            [text.key, text.requests, text.tokens, text.cost, text.accountFigure, text.share],
            period.byKey.map((r) => {
              const acct = el('span', { text: r.utilisedText || '—' });
              if (r.differs) {
                acct.className = 'warn';
                acct.title = text.differs;
                acct.textContent = `${r.utilisedText} ≠`;
              }
              return [r.label, r.requestsText, count(r.inputTokens + r.outputTokens), r.costText, acct, shareBar(r.share)];
            }),
            ['1', '2', '3', '4'],
          ),
    );

    // Live.
    const live = model.live;
    parts.liveStats.replaceChildren(
      ...[
        [text.requestsPerMinute, live.requestsPerMinuteText, 'rpm'],
        [text.latencyP50, live.latencyP50Text, 'p50'],
        [text.latencyP95, live.latencyP95Text, 'p95'],
      ].map(([label, value, id]) => el('div', { class: 'stat' }, [el('div', { class: 'label', text: label }), el('div', { class: 'value', 'data-testid': `live-${id}`, text: value })])),
    );
    parts.perMinute.replaceChildren(
      barChart(parts.perMinute, live.perMinute, (p) => p.requests, {
        stackOf: (p) => p.failures,
        height: 90,
        title: (p) => `${p.label}: ${count(p.requests)} ${text.requests} · ${count(p.failures)} ${text.failures}`,
      }),
    );
    parts.partial.textContent = live.partial ? text.partial : '';
    parts.errors.replaceChildren(
      live.errors.length === 0
        ? el('p', { class: 'muted', text: text.noErrors })
        : table(
            [text.status, text.requests],
            live.errors.map((e) => [e.reason, count(e.count)]),
            ['1'],
          ),
    );

    // The pool.
    parts.pool.replaceChildren(
      model.keys.length === 0
        ? el('p', { class: 'muted', text: text.noKeys })
        : table(
            [text.key, text.state, text.balance, text.todayCost, text.requests, text.failures],
            model.keys.map((k) => {
              const st = el('span', { class: `state ${k.manuallyDisabled ? 'manual' : k.state}`, text: k.reason && !k.manuallyDisabled ? `${k.stateText} (${k.reason})` : k.stateText });
              const who = el('div', {}, [el('div', { class: 'mono', text: k.id }), k.name ? el('div', { class: 'muted', text: k.name }) : '']);
              const bal = el('span', { text: k.forecastText ? `${k.balanceText} · ${k.forecastText}` : k.balanceText });
              return [who, st, bal, k.todayCostText, count(k.requests), count(k.failures)];
            }),
            ['2', '3', '4', '5'],
          ),
    );

    drawRecent();
  }

  function drawRecent() {
    const { model, text } = state;
    if (!model || !text) return;
    const f = state.filters;
    const filters = model.recent.filters;
    setOptions(parts.fModel, [['', text.allModels], ...filters.models.map((m) => [m, m || '—'])], f.model);
    setOptions(parts.fKey, [['', text.allKeys], ...filters.keys.map((k) => [k, k || '—'])], f.key);
    setOptions(parts.fStatus, [['', text.allStatuses], ['failed', text.failedOnly], ...filters.statuses.map((s) => [String(s), String(s)])], f.status);
    // A choice that no longer exists (the list moved on) falls back to "all".
    f.model = parts.fModel.value;
    f.key = parts.fKey.value;
    f.status = parts.fStatus.value;

    const all = model.recent.rows;
    // A model chosen matches the requests it served and those that asked for it by that name.
    const rows = all.filter(
      (r) => (!f.model || r.model === f.model || r.requestedModel === f.model) && (!f.key || r.key === f.key) && (!f.status || (f.status === 'failed' ? r.failed : String(r.status) === f.status)),
    );
    parts.recentCount.textContent = fill(text.shown, count(rows.length), count(all.length));
    parts.recent.replaceChildren(
      all.length === 0
        ? el('p', { class: 'muted', text: text.noRequests })
        : rows.length === 0
          ? el('p', { class: 'muted', text: text.noMatch })
          : table(
              [text.time, text.route, text.model, text.key, text.status, text.attempts, text.tokens, text.cost, text.duration],
              rows.map((r) => [
                r.timeText,
                r.stream ? `${r.route} (${text.stream})` : r.route,
                r.requestedModel
                  ? el('span', { class: 'nowrap', title: fill(text.requestedAs, r.requestedModel) }, [el('span', { class: 'muted', text: `${r.requestedModel} → ` }), r.model])
                  : el('span', { class: 'nowrap', text: r.model }),
                el('span', { class: 'mono', text: r.key }),
                el('span', { class: r.failed ? 'warn' : '', text: r.statusText }),
                String(r.attempts),
                r.tokensText,
                r.costText,
                r.durationText,
              ]),
              ['5', '6', '7', '8'],
              (i) => (rows[i].failed ? 'failed' : ''),
            ),
    );
  }

  window.addEventListener('message', (event) => {
    const m = event.data;
    if (!m || m.type !== 'update' || !m.model || !m.text) return;
    state.model = m.model;
    state.text = m.text;
    save();
    draw();
  });

  // Charts follow the panel's width; one redraw per frame at most while it is being resized.
  let lastWidth = 0;
  let pending = false;
  new ResizeObserver(() => {
    const w = app.clientWidth;
    if (pending || Math.abs(w - lastWidth) < 8) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      lastWidth = app.clientWidth;
      draw();
    });
  }).observe(app);

  draw();
  vscode.postMessage({ type: 'ready' });
})();
