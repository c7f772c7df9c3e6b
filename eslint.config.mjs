// ESLint (flat config) with typescript-eslint; `npm run lint`, and `npm test` runs it first.
// Syntax-only rules everywhere (fast); the type-aware rules only on src/, where a dropped
// promise or an async callback handed to something that ignores its promise is a real bug on
// the request path, and one TypeScript program for src/ is cheap (tests and bench are left to
// the syntax rules: they would double the program for little).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Node's globals for the build scripts (.mjs) and the mocha reporter (CommonJS). */
const nodeGlobals = {
  process: 'readonly',
  console: 'readonly',
  Buffer: 'readonly',
  URL: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  setInterval: 'readonly',
  clearInterval: 'readonly',
};

export default defineConfig(
  {
    ignores: ['dist/**', 'out/**', 'node_modules/**', 'bench/results/**', 'test-results/**', '.vscode-test/**', 'media/dashboard/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // Unused code is reported by tsc (noUnusedLocals / noUnusedParameters); one report is enough.
      '@typescript-eslint/no-unused-vars': 'off',
      // `require` of optional or lazily loaded modules (the CLI's demo, the e2e's playwright) is deliberate.
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // Log lines and reason phrases are escaped by matching control characters on purpose.
      'no-control-regex': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // Tests read JSON answers as `any` on purpose: the assertions say what is in them.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: nodeGlobals },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
