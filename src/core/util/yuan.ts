// The one ¥ formatter: balances, spend, prices and log lines all write money through it. The
// same in every language (DaiDai prices in ¥).

/**
 * `12.5` → `¥12.50`; unknown → `¥?`.
 * - `amount` (default): two decimals.
 * - `spend`: a positive sum under half a fen shows as `<¥0.01`, not as nothing spent.
 * - `price`: two decimals unless the price needs more (`¥0.075`, at most six).
 */
export function formatYuan(value: number | null | undefined, kind: 'amount' | 'spend' | 'price' = 'amount'): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '¥?';
  if (kind === 'spend' && value > 0 && value < 0.005) return '<¥0.01';
  const two = value.toFixed(2);
  if (kind !== 'price' || Number(two) === value) return `¥${two}`;
  return `¥${Number(value.toFixed(6))}`;
}
