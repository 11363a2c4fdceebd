// ESLint flat config. Project-specific rules (see shared/STYLE.md "Architecture"):
// src/core is pure, so it may not import node:* modules, I/O clients or timers; and
// dependencies point inward: core ← stores, compression ← primary / standby / snapshot
// ← node ← server ← cli, with standby/ importing no other role and no concrete store.
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

/** Import patterns a layer may not use, each with the reason the lint message gives. */
const outward = (layer, dirs) =>
  dirs.map((dir) => ({
    group: [`**/${dir}/*`, `**/${dir}/**`],
    message: `${layer} may not import src/${dir}: dependencies point inward (core ← stores ← primary/standby/snapshot ← node ← server ← cli; config and client beside node, on core only).`,
  }));

const layers = [
  {
    files: ['src/stores/**/*.ts', 'src/compression/**/*.ts'],
    layer: 'a store or codec adapter',
    dirs: ['primary', 'standby', 'snapshot', 'node', 'config', 'client', 'server', 'cli'],
  },
  {
    files: ['src/primary/**/*.ts'],
    layer: 'src/primary',
    dirs: ['standby', 'node', 'config', 'client', 'server', 'cli'],
  },
  {
    files: ['src/standby/**/*.ts'],
    layer: 'src/standby',
    dirs: [
      'primary',
      'stores/file',
      'stores/etcd',
      'stores/kafka',
      'node',
      'config',
      'client',
      'server',
      'cli',
    ],
  },
  {
    files: ['src/snapshot/**/*.ts'],
    layer: 'src/snapshot',
    dirs: [
      'primary',
      'standby',
      'stores/file',
      'stores/etcd',
      'stores/kafka',
      'node',
      'config',
      'client',
      'server',
      'cli',
    ],
  },
  { files: ['src/node/**/*.ts'], layer: 'src/node', dirs: ['config', 'client', 'server', 'cli'] },
  // Config is data and rules about it (core types only); the client speaks HTTP only.
  {
    files: ['src/config/**/*.ts', 'src/client/**/*.ts'],
    layer: 'src/config and src/client',
    dirs: ['stores', 'compression', 'primary', 'standby', 'snapshot', 'node', 'server', 'cli'],
  },
  { files: ['src/server/**/*.ts'], layer: 'src/server', dirs: ['cli'] },
  // The benchmarks drive every layer (stores, writer, replay, a served node as a child
  // process) and are driven by cli/bench.ts; they sit beside server, under cli.
  { files: ['src/bench/**/*.ts'], layer: 'src/bench', dirs: ['cli'] },
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
          patterns: [
            ...impureModules.map((group) => ({
              group: [group],
              message: 'src/core is pure: no I/O, clients or native loaders.',
            })),
            ...outward('src/core', [
              'stores',
              'compression',
              'primary',
              'standby',
              'snapshot',
              'node',
              'config',
              'client',
              'server',
              'cli',
            ]),
          ],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate', 'process', 'Date'],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'src/core is deterministic.' },
      ],
    },
  },
  ...layers.map(({ files, layer, dirs }) => ({
    files,
    rules: { 'no-restricted-imports': ['error', { patterns: outward(layer, dirs) }] },
  })),
);
