// @ts-check
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['node_modules/', '.data/', 'bench/results/', 'workflows/schema/*.json']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `_`-prefixed names mark intentionally unused parameters and destructured leftovers.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // `cond ? a++ : b++` and `ok && run()` are idiomatic statements.
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      eqeqeq: ['error', 'smart'],
      'no-constant-condition': ['error', { checkLoops: false }],
      'prefer-const': 'error',
      // Flags `let x: T = initial;` before a loop or try that always reassigns it: a harmless habit, and
      // TypeScript already reports reads of unassigned variables.
      'no-useless-assignment': 'off',
    },
  },
);
