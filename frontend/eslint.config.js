import js from '@eslint/js';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import reactRefresh from 'eslint-plugin-react-refresh';
import tseslint from 'typescript-eslint';
import { defineConfig, globalIgnores } from 'eslint/config';

export default defineConfig([
  globalIgnores(['dist', 'node_modules', 'e2e/screenshots', 'src/api/schema.d.ts']),
  {
    files: ['**/*.{ts,tsx}'],
    extends: [
      js.configs.recommended,
      tseslint.configs.recommended,
      reactHooks.configs.flat['recommended-latest'],
      reactRefresh.configs.vite,
    ],
    languageOptions: {
      ecmaVersion: 2023,
      globals: globals.browser,
    },
    rules: {
      // Polling is done by TanStack Query's refetchInterval only.
      'no-restricted-globals': ['error', { name: 'setInterval', message: 'Use TanStack Query refetchInterval for polling.' }],
      'no-restricted-properties': [
        'error',
        { object: 'window', property: 'setInterval', message: 'Use TanStack Query refetchInterval for polling.' },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Feature folders talk to each other only through the app layer (pages): no cross-feature imports.
    files: ['src/features/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // Allowed: './x' (same feature), '../../api/...', '../../components/...', '../../lib/...',
              // and the shared test helpers in '../../test/...'.
              regex: '^\\.\\./(?!\\.\\./(api|components|lib|test)(/|$))',
              message: 'Features import only from src/api, src/components and src/lib, never from other features.',
            },
          ],
        },
      ],
    },
  },
  {
    // The same rule one folder down (a feature's api/ or log/): '../x' is the feature itself,
    // '../../x' another feature; src/api, src/components, src/lib and src/test are '../../../x'.
    files: ['src/features/*/*/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./\\.\\./(?!\\.\\./(api|components|lib|test)(/|$))',
              message: 'Features import only from src/api, src/components and src/lib, never from other features.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/test/**', '**/*.test.{ts,tsx}'],
    rules: { 'react-refresh/only-export-components': 'off' },
  },
  {
    files: ['**/*.{js,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node, ...globals.browser },
    },
  },
]);
