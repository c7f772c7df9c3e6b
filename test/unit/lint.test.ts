// The linter is part of `npm test` (`npm run lint`); this proves it can fail: ESLint's Node API
// with the project's own config (eslint.config.mjs) finds what is planted in a small text, and
// finds nothing in the same text without it. The type-aware rules (src/ only) are checked on a
// real source file's text with a dropped promise added.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';

const ROOT = [resolve(__dirname, '..', '..', '..'), resolve(__dirname, '..', '..')].find((d) => existsSync(join(d, 'eslint.config.mjs')))!;

/** The rule ids ESLint reports for `code` as if it were the file at `file` (relative to the repo). */
async function lint(code: string, file: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return result.messages.map((m) => m.ruleId ?? `fatal: ${m.message}`);
}

const CLEAN = `import { strict as assert } from 'node:assert';
import type { Server } from 'node:http';

export function same(a: number, b: number | null, server?: Server): boolean {
  assert.ok(server === undefined || server.listening);
  return a === b || b == null;
}
`;

describe('lint: ESLint with the project config (can fail)', function () {
  this.timeout(180_000);

  it('reports nothing for a clean file', async () => {
    assert.deepEqual(await lint(CLEAN, 'test/unit/lint-fixture.ts'), []);
  });

  it('reports each planted violation: ==, a value import used only as a type, an explicit any outside the tests, a useless escape', async () => {
    const planted = CLEAN.replace('a === b', 'a == b')
      .replace("import type { Server } from 'node:http';", "import { Server } from 'node:http';")
      .concat("export const loose: any = /[a-z\\-]/;\n");
    const found = await lint(planted, 'bench/lint-fixture.ts');
    for (const rule of ['eqeqeq', '@typescript-eslint/consistent-type-imports', '@typescript-eslint/no-explicit-any', 'no-useless-escape']) {
      assert.ok(found.includes(rule), `${rule} not reported: ${found.join(', ')}`);
    }
  });

  it('type-aware on src/: a dropped promise is reported, the file as it is passes', async () => {
    const file = 'src/core/util/limit.ts';
    const text = readFileSync(join(ROOT, file), 'utf8');
    assert.deepEqual(await lint(text, file), []);
    const dropped = `${text}\nexport function fireAndForget(): void {\n  eachLimited([1], 1, async () => undefined);\n}\n`;
    assert.deepEqual(await lint(dropped, file), ['@typescript-eslint/no-floating-promises']);
  });
});
