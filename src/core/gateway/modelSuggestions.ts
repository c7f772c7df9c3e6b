// Which model ids to suggest when a request names one that no key serves: the pool says what
// its keys serve (data), this ranks it for the words of the 404.

const CLOSEST_MODELS = 5;

/**
 * The ids of `served` most like `model`, at most `max`: those containing it (or contained in
 * it) first, then those of the same family (the same first word: `claude-…`, `gpt-…`), then the
 * rest; within each, by edit distance, then by id. A leading `[channel]` tag and case are
 * ignored when comparing. `model` itself is never suggested.
 */
export function closestModels(model: string, served: Iterable<string>, max = CLOSEST_MODELS): string[] {
  const want = normModel(model);
  const family = familyOf(want);
  const scored: { id: string; rank: number; d: number }[] = [];
  const seen = new Set<string>([model]);
  for (const id of served) {
    if (seen.has(id)) continue;
    seen.add(id);
    const have = normModel(id);
    const rank = have.includes(want) || want.includes(have) ? 0 : family !== '' && familyOf(have) === family ? 1 : 2;
    scored.push({ id, rank, d: editDistance(want, have) });
  }
  scored.sort((a, b) => a.rank - b.rank || a.d - b.d || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return scored.slice(0, max).map((s) => s.id);
}

/** The first word of a normalised id (`claude`, `gpt`, `gemini`); '' when it has none. */
function familyOf(norm: string): string {
  return /^[a-z]+/.exec(norm)?.[0] ?? '';
}

function normModel(id: string): string {
  return id.replace(/^\s*\[[^\]]*\]\s*/, '').toLowerCase();
}

/** Levenshtein distance with two rows; model ids are short. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}
