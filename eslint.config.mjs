// `npm run lint`. Type-aware (typescript-eslint, the projects listed below) over src/, webview/,
// test/, bench/, scripts/ and esbuild.js. Two kinds of checks:
//   - the boundaries between the parts (rule peerchat/boundaries, defined here): src/core is the
//     node (no vscode, nothing outside src/core), src/protocol is shared with the webview bundle
//     (nothing from src/core at run time), webview/ is browser code (only webview/ and
//     src/protocol), the rest of src/ never reaches into webview/;
//   - a small set of rules kept at zero errors: floating promises, duplicate imports, unused
//     disable directives, and for JavaScript undefined and unused names.
import * as path from 'node:path';
import { isBuiltin } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const ROOT = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------
// peerchat/boundaries: which modules a file may import, by where the import resolves to.
//
// Options: {
//   zone:      name of the part, for the message ("src/core")
//   allow:     folders (from the repository root) that may be imported at run time and as types
//   allowTypes: folders that may be imported only as types (`import type`, or every specifier
//             `type`, `import('...').T` in a type): erased by the compiler, nothing at run time
//   packages:  bare module names that may not be imported at all ('vscode' forbids 'vscode/x' too)
//   builtins:  false forbids Node's built-in modules (browser code)
//   why:       the reason, appended to every message
// }
// A relative import outside `allow` and `allowTypes` is reported; bare imports are checked by
// name only (packages, builtins). Covers import/export ... from, import(), require(),
// `import x = require()` and type-position import('...').

const inside = (file, dir) => {
  const rel = path.relative(path.join(ROOT, dir), file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

const boundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports stay inside the boundaries of each part of PeerChat' },
    schema: [
      {
        type: 'object',
        properties: {
          zone: { type: 'string' },
          allow: { type: 'array', items: { type: 'string' } },
          allowTypes: { type: 'array', items: { type: 'string' } },
          packages: { type: 'array', items: { type: 'string' } },
          builtins: { type: 'boolean' },
          why: { type: 'string' },
        },
        required: ['zone', 'allow', 'why'],
        additionalProperties: false,
      },
    ],
    messages: {
      package: "{{zone}} may not import '{{source}}': {{why}}",
      builtin: "{{zone}} may not import the Node built-in '{{source}}': {{why}}",
      outside: "{{zone}} may not import '{{source}}' ({{target}}){{kind}}: only {{allowed}}. {{why}}",
    },
  },
  create(context) {
    const { zone, allow, allowTypes = [], packages = [], builtins = true, why } = context.options[0];
    const dir = path.dirname(context.filename);
    const allowed = [
      ...allow.map((d) => `${d}/`),
      ...allowTypes.map((d) => `types from ${d}/`),
    ].join(', ');

    function check(sourceNode, typeOnly) {
      if (!sourceNode || sourceNode.type !== 'Literal' || typeof sourceNode.value !== 'string') return;
      const source = sourceNode.value;
      const data = { zone, source, why };
      if (!source.startsWith('.') && !path.isAbsolute(source)) {
        if (packages.some((p) => source === p || source.startsWith(`${p}/`))) {
          context.report({ node: sourceNode, messageId: 'package', data });
        } else if (!builtins && isBuiltin(source)) {
          context.report({ node: sourceNode, messageId: 'builtin', data });
        }
        return;
      }
      const target = path.resolve(dir, source);
      if (allow.some((d) => inside(target, d))) return;
      if (typeOnly && allowTypes.some((d) => inside(target, d))) return;
      const kind = allowTypes.some((d) => inside(target, d)) ? ' at run time' : '';
      context.report({
        node: sourceNode,
        messageId: 'outside',
        data: { ...data, target: path.relative(ROOT, target) || '.', kind, allowed },
      });
    }
    const allTypes = (specifiers, key) => specifiers.length > 0 && specifiers.every((s) => s[key] === 'type');

    return {
      ImportDeclaration: (node) =>
        check(node.source, node.importKind === 'type' || allTypes(node.specifiers, 'importKind')),
      ExportNamedDeclaration: (node) =>
        check(node.source, node.exportKind === 'type' || allTypes(node.specifiers, 'exportKind')),
      ExportAllDeclaration: (node) => check(node.source, node.exportKind === 'type'),
      ImportExpression: (node) => check(node.source, false),
      TSImportType: (node) => check(node.argument.type === 'TSLiteralType' ? node.argument.literal : node.source, true),
      TSImportEqualsDeclaration: (node) =>
        node.moduleReference.type === 'TSExternalModuleReference' &&
        check(node.moduleReference.expression, node.importKind === 'type'),
      CallExpression: (node) =>
        node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments.length === 1 &&
        check(node.arguments[0], false),
    };
  },
};

const peerchat = { meta: { name: 'peerchat' }, rules: { boundaries } };

// ---------------------------------------------------------------------------------------------

export default defineConfig(
  {
    ignores: [
      '**/node_modules/',
      'dist/',
      'out/',
      'test-results/',
      '.vscode-test/',
      'bench/results/',
      'media/',
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    plugins: { '@typescript-eslint': tseslint.plugin, peerchat },
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        // The first project that includes a file gives its types (src/protocol: the root one).
        project: ['./tsconfig.json', './webview/tsconfig.json', './tsconfig.eslint.json'],
        tsconfigRootDir: ROOT,
      },
    },
    rules: {
      // node:test's test()/describe() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/await-thenable': 'error',
      // `import type` beside a value import of the same module is fine, and so is an index that
      // re-exports a module it also imports from.
      'no-duplicate-imports': ['error', { allowSeparateTypeImports: true }],
      // The code's eslint-disable comments name these two.
      'no-control-regex': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // CommonJS scripts and the harness: undefined and unused names (TypeScript checks the .ts files).
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { ...globals.node },
    },
    rules: {
      'no-undef': 'error',
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
    },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  {
    // Functions passed to page.evaluate() run in the browser.
    files: ['test/ui/**/*.js', 'test/harness/**/*.js', 'bench/**/*.js'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },

  // Boundaries --------------------------------------------------------------------------------
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'peerchat/boundaries': [
        'error',
        {
          zone: 'src/core',
          allow: ['src/core'],
          packages: ['vscode'],
          why: 'src/core is the node, run without VS Code by the terminal peer, the unit tests and the benchmarks.',
        },
      ],
    },
  },
  {
    files: ['src/protocol/**/*.ts'],
    rules: {
      'peerchat/boundaries': [
        'error',
        {
          zone: 'src/protocol',
          allow: ['src/protocol'],
          allowTypes: ['src/core'],
          packages: ['vscode'],
          builtins: false,
          why: 'src/protocol is bundled into the webview too; it shares types with the host, no code.',
        },
      ],
    },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'peerchat/boundaries': [
        'error',
        {
          zone: 'webview',
          allow: ['webview', 'src/protocol'],
          packages: ['vscode'],
          builtins: false,
          why: 'The webview is browser code that talks to the host only through the messages of src/protocol.',
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/core/**', 'src/protocol/**'],
    rules: {
      'peerchat/boundaries': [
        'error',
        {
          zone: 'src',
          allow: ['src'],
          why: 'The extension host reaches the webview only through src/protocol messages.',
        },
      ],
    },
  },
);
