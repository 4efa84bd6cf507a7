// Bundles the extension-host test code of each extension-host layer: the layer's index.ts (the
// mocha entry point that VS Code calls) and every *.test.ts suite under the layer's folder, one
// bundle each, into out/test/<folder>/ (same relative paths, .js). `vscode` is provided by the
// extension host and `mocha` is required from node_modules at run time; everything else (helpers,
// src/core modules a suite imports) is bundled in.
//
//   test/integration/           -> out/test/integration/            (runIntegration.js, runDesktop.js)
//   test/integration-untrusted/ -> out/test/integration-untrusted/  (runUntrusted.js)
//
// `node test/harness/buildTests.js` builds every layer.
'use strict';

const fs = require('fs');
const path = require('path');
const { findFiles } = require('../../scripts/findFiles');

const REPO = path.resolve(__dirname, '..', '..');
const SRC = path.join(REPO, 'test', 'integration');
const OUT = path.join(REPO, 'out', 'test', 'integration');
const UNTRUSTED_SRC = path.join(REPO, 'test', 'integration-untrusted');
const UNTRUSTED_OUT = path.join(REPO, 'out', 'test', 'integration-untrusted');


/** Bundle `src`/index.ts and `src`/**\/*.test.ts into `out` (emptied first). */
async function buildSuites(src, out) {
  const esbuild = require('esbuild');
  const suites = findFiles(src, (name) => name.endsWith('.test.ts'));
  const entryPoints = [path.join(src, 'index.ts'), ...suites];
  fs.rmSync(out, { recursive: true, force: true });
  await esbuild.build({
    entryPoints,
    outdir: out,
    outbase: src,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
  return { out, index: path.join(out, 'index.js'), suites: suites.map((s) => path.relative(REPO, s)) };
}

/** The suites run in a trusted workspace (integration and desktop layers). */
function buildIntegrationTests() {
  return buildSuites(SRC, OUT);
}

/** The suites run in an untrusted workspace, restricted mode (untrusted layer). */
function buildUntrustedTests() {
  return buildSuites(UNTRUSTED_SRC, UNTRUSTED_OUT);
}

module.exports = { buildIntegrationTests, buildUntrustedTests, buildSuites, findFiles, OUT, UNTRUSTED_OUT };

if (require.main === module) {
  (async () => {
    for (const build of [buildIntegrationTests, buildUntrustedTests]) {
      const r = await build();
      console.log(`built ${r.suites.length} suite(s) into ${path.relative(REPO, r.out)}`);
    }
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
