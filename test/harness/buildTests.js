// Bundles the extension-host test code: test/integration/index.ts (the mocha entry point that
// VS Code calls) and every test/integration/**/*.test.ts suite, one bundle each, into
// out/test/integration/ (same relative paths, .js). `vscode` is provided by the extension host
// and `mocha` is required from node_modules at run time; everything else (helpers, src/core
// modules a suite imports) is bundled in.
'use strict';

const fs = require('fs');
const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
const SRC = path.join(REPO, 'test', 'integration');
const OUT = path.join(REPO, 'out', 'test', 'integration');

/** Files under `dir` (recursively) whose name ends with `suffix`, sorted, skipping node_modules. */
function findFiles(dir, suffix) {
  const found = [];
  const walk = (d) => {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith(suffix)) found.push(p);
    }
  };
  walk(dir);
  return found.sort();
}

async function buildIntegrationTests() {
  const esbuild = require('esbuild');
  const suites = findFiles(SRC, '.test.ts');
  const entryPoints = [path.join(SRC, 'index.ts'), ...suites];
  fs.rmSync(OUT, { recursive: true, force: true });
  await esbuild.build({
    entryPoints,
    outdir: OUT,
    outbase: SRC,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
  return { out: OUT, index: path.join(OUT, 'index.js'), suites: suites.map((s) => path.relative(REPO, s)) };
}

module.exports = { buildIntegrationTests, findFiles, OUT };

if (require.main === module) {
  buildIntegrationTests().then(
    (r) => console.log(`built ${r.suites.length} integration suite(s) into ${path.relative(REPO, r.out)}`),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
