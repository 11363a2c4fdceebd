// ESLint flat config. The one project-specific rule: src/core is pure, so it may not
// import node:* modules, I/O clients or timers (see shared/STYLE.md "Architecture").
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const impureModules = [
  'node:*',
  'fs',
  'path',
  'os',
  'net',
  'child_process',
  'kafkajs',
  'etcd3',
  'zstd-napi',
  'zstd-codec',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: impureModules.map((group) => ({
            group: [group],
            message: 'src/core is pure: no I/O, clients or native loaders.',
          })),
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate', 'process', 'Date'],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'src/core is deterministic.' },
      ],
    },
  },
);
