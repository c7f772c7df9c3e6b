// The usage report as text: the table `daidai-proxy usage` prints, and the cost and count words
// the dashboard shares with it.
import { t } from '../l10n';
import type { UsageReport, UsageTotals } from '../usage';
import { formatYuan } from '../util/yuan';

/** The cost of a total, honest about what it leaves out: `¥1.20`, `¥1.20*` (some unpriced), `price unknown`. */
export function costText(totals: Pick<UsageTotals, 'costCny' | 'unpricedRequests'>): string {
  if (totals.costCny === null) return t('price unknown');
  const yuan = formatYuan(totals.costCny, 'spend');
  return totals.unpricedRequests > 0 ? `${yuan}*` : yuan;
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
  const head = [t('Requests'), t('Failed'), t('Input tokens'), t('Output tokens'), t('Est. ¥')];
  const row = (name: string, totals: UsageTotals): string[] => [name, formatCount(totals.requests), formatCount(totals.failures), formatCount(totals.inputTokens), formatCount(totals.outputTokens), costText(totals)];
  const sections: { title: string; rows: string[][] }[] = [
    { title: t('By model'), rows: report.byModel.map((m) => row(m.model || t('(no model)'), m)) },
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
    for (const r of s.rows) out.push(line(r));
  }
  out.push('', line(totalRow));
  if (report.total.unpricedRequests > 0) {
    out.push(t('* Requests without a known price: {0}. Their cost is not in the ¥ sums.', report.total.unpricedRequests));
  }
  if (report.total.utilisedCny !== null) {
    out.push(t('The account itself reports {0} spent by these keys in this period.', formatYuan(report.total.utilisedCny, 'spend')));
  }
  return out.join('\n') + '\n';
}

