// Lint rules that guard what the type checker cannot: no floating promises anywhere, and no
// Node built-ins or I/O packages in workflow code (it must stay deterministic in the sandbox).
const tseslint = require('typescript-eslint');

const nodeBuiltins = ['fs', 'path', 'os', 'child_process', 'net', 'http', 'https', 'crypto', 'process', 'timers', 'worker_threads'];

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', 'examples/**', 'test-artifacts/**', '*.js'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { project: './tsconfig.json', tsconfigRootDir: __dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    files: ['workflows/**/*.ts', 'common/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, ...nodeBuiltins.map((m) => `node:${m}`), '@temporalio/activity', '@temporalio/client', '@temporalio/worker', 'simple-git', 'express'].map((name) => ({
            name,
            message: 'workflows/ and common/ stay free of I/O: no Node built-ins, clients or activity code here',
          })),
          patterns: [{ group: ['../activities', '../activities/*', '!../activities/index'], allowTypeImports: true, message: 'workflows import activities as types only' }],
        },
      ],
      'no-console': 'error',
    },
  },
  {
    files: ['activities/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
);
