import nx from '@nx/eslint-plugin';

// Module boundaries: apps are wiring over libs; libs depend "downwards" only (feature → data-access → util);
// model code never depends on serving code; test utilities are for specs and end-to-end tests only.
const typeRules = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:util'] },
  { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:util'] },
  { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:data-access', 'type:util'] },
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
  { sourceTag: 'type:test-util', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:util', 'type:test-util'] },
];
const scopeRules = [
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:model', onlyDependOnLibsWithTags: ['scope:model', 'scope:shared'] },
  { sourceTag: 'scope:serving', onlyDependOnLibsWithTags: ['scope:serving', 'scope:model', 'scope:shared'] },
  { sourceTag: 'scope:worker', onlyDependOnLibsWithTags: ['scope:serving', 'scope:model', 'scope:shared'] },
  { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:serving', 'scope:model', 'scope:shared'] },
  { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:cli', 'scope:serving', 'scope:model', 'scope:shared'] },
  { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['*'] },
];
const boundaries = (extraTypeRules = []) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allow: [],
    depConstraints: [...extraTypeRules, ...typeRules, ...scopeRules],
  },
];

export default [
  { ignores: ['**/node_modules/**', 'dist/**', '**/*.js', '**/*.mjs', '**/*.cjs', '.nx/**', '.scratch/**'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries(),
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Specs and end-to-end tests may use the test utilities of any scope.
    files: ['**/*.spec.ts', 'test/**/*.ts', 'bench/**/*.ts', '**/testing/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        { enforceBuildableLibDependency: false, allow: [], depConstraints: [{ sourceTag: '*', onlyDependOnLibsWithTags: ['*'] }] },
      ],
    },
  },
];
