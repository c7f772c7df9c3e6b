// The usage report as text: the table `daidai-proxy usage` prints, and the cost and count words
// the dashboard shares with it.
import { t } from '../l10n';
import { cacheHitShare, type RequestedAs, type UsageReport, type UsageTotals } from '../usage';
import { logText } from '../util/log';
import { formatYuan } from '../util/yuan';
import { formatList } from './format';

/** The cost of a total, honest about what it leaves out: `¥1.20`, `¥1.20*` (some unpriced), `price unknown`. */
export function costText(totals: Pick<UsageTotals, 'costCny' | 'unpricedRequests'>): string {
  if (totals.costCny === null) return t('price unknown');
  const yuan = formatYuan(totals.costCny, 'spend');
  return totals.unpricedRequests > 0 ? `${yuan}*` : yuan;
}

/**
 * The cache-hit share (cacheHitShare): `85%`, `<1%`, `0%`; `≥40%` when part of the cache tokens
 * was recorded before reads and writes were kept apart; `—` without input tokens.
 */
export function cacheHitText(x: Pick<UsageTotals, 'inputTokens' | 'cacheTokens' | 'cacheReadTokens' | 'cacheWriteTokens'>): string {
  const h = cacheHitShare(x);
  if (!h) return '—';
  if (h.atLeast) return `≥${Math.floor(h.share * 100)}%`;
  if (h.share === 0) return '0%';
  return h.share < 0.01 ? '<1%' : `${Math.round(h.share * 100)}%`;
}

/** How many names a "requested as" note lists before "and N more". */
const REQUESTED_AS_SHOWN = 3;

/**
 * `requested as claude-opus-4-8 (12), claude-opus-4-7 (2)`: the names clients asked for a model
 * by, when resolution sent this one; '' when none. Names are the clients' own: shown with their
 * control characters escaped.
 */
export function requestedAsText(names: readonly RequestedAs[]): string {
  if (names.length === 0) return '';
  const shown = names.slice(0, REQUESTED_AS_SHOWN).map((n) => t('{0} ({1})', logText(n.model, 200), formatCount(n.requests)));
  if (names.length > REQUESTED_AS_SHOWN) shown.push(t('{0} more', names.length - REQUESTED_AS_SHOWN));
  return t('requested as {0}', formatList(shown));
}

/** `1234567` → `1,234,567`. */
export function formatCount(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Terminal columns a string takes: CJK and full-width characters take two. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const wide =
      (c >= 0x1100 && c <= 0x115f) ||
      (c >= 0x2e80 && c <= 0xa4cf) ||
      (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xfe30 && c <= 0xfe4f) ||
      (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) ||
      (c >= 0x20000 && c <= 0x3fffd);
    w += wide ? 2 : 1;
  }
  return w;
}

function pad(s: string, width: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(s)));
  return right ? fill + s : s + fill;
}

/** The plain-text table `daidai-proxy usage` prints: by model, by key, the total. */
export function formatUsageTable(report: UsageReport): string {
  const head = [t('Requests'), t('Failed'), t('Input tokens'), t('Output tokens'), t('Cache hit'), t('Est. ¥')];
  const row = (name: string, totals: UsageTotals): string[] => [
    name,
    formatCount(totals.requests),
    formatCount(totals.failures),
    formatCount(totals.inputTokens),
    formatCount(totals.outputTokens),
    cacheHitText(totals),
    costText(totals),
  ];
  // A model's row is followed by the names clients asked for it by (a note on a line of its own).
  const notes = new Map<string[], string>();
  const modelRows = report.byModel.map((m) => {
    const r = row(m.model ? logText(m.model, 200) : t('(no model)'), m);
    const note = requestedAsText(m.requestedAs);
    if (note) notes.set(r, note);
    return r;
  });
  const sections: { title: string; rows: string[][] }[] = [
    { title: t('By model'), rows: modelRows },
    { title: t('By key'), rows: report.byKey.map((k) => row(k.key || t('(no key)'), k)) },
  ];
  const totalRow = row(t('Total'), report.total);
  const all = [...sections.flatMap((s) => [[s.title, ...head], ...s.rows]), totalRow];
  const widths = head.map((_, i) => Math.max(...all.map((r) => displayWidth(r[i + 1] ?? ''))));
  const nameWidth = Math.max(...all.map((r) => displayWidth(r[0]!)));
  const line = (r: string[]) => [pad(r[0]!, nameWidth, false), ...r.slice(1).map((c, i) => pad(c, widths[i]!, true))].join('  ').trimEnd();

  const out: string[] = [t('Usage since {0} (until {1})', report.since.replace('T', ' ').replace(/:00\.000Z$/, ' UTC'), report.until.replace('T', ' ').replace(/:\d{2}\.\d{3}Z$/, ' UTC'))];
  for (const s of sections) {
    out.push('', line([s.title, ...head]));
    if (s.rows.length === 0) out.push(`  ${t('(none)')}`);
    for (const r of s.rows) {
      out.push(line(r));
      const note = notes.get(r);
      if (note) out.push(`  ↳ ${note}`);
    }
  }
  out.push('', line(totalRow));
  if (report.total.unpricedRequests > 0) {
    out.push(t('* Requests without a known price: {0}. Their cost is not in the ¥ sums.', report.total.unpricedRequests));
  }
  if (report.total.cacheTokens > 0) {
    out.push(t('Cache hit: the share of input tokens read from a prompt cache. The price list has no cache price, so cache tokens are estimated at the input price.'));
    if (cacheHitShare(report.total)?.atLeast) out.push(t('≥: part of the cache tokens was recorded before reads and writes were kept apart; those are not counted as hits.'));
  }
  if (report.total.utilisedCny !== null) {
    out.push(t('The account itself reports {0} spent by these keys in this period.', formatYuan(report.total.utilisedCny, 'spend')));
  }
  return out.join('\n') + '\n';
}

