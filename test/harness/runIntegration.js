#!/usr/bin/env node
// Runs the extension-host integration suites (test/integration/**/*.test.ts) inside a real
// VS Code 1.100.3: a fresh code-server on 127.0.0.1 with a fresh user-data and extensions dir,
// workspace trust off, the repo loaded as the extension under development, and headless Chromium
// opening the workbench with `extensionTestsPath` in the `payload` query parameter. The workbench
// runs out/test/integration/index.js and reports back through window.codeAutomationLog/-Exit
// (the machinery is in extensionTests.js, shared with runUntrusted.js).
//
//   node test/harness/runIntegration.js            build (npm run build + test bundles), then run
//   node test/harness/runIntegration.js --no-build  use the existing dist/ and out/ (npm test)
//
// Env: PEERCHAT_TEST_GREP (mocha grep), PEERCHAT_TEST_TIMEOUT (per-test ms),
//      PEERCHAT_INTEGRATION_TIMEOUT (whole run ms, default 240000).
// Prints `integration: N passed, N failed` last; exits non-zero on any failure.
'use strict';

const { buildIntegrationTests, OUT } = require('./buildTests');
const { runLayerCli } = require('./extensionTests');

runLayerCli({
  layer: 'integration',
  label: 'it',
  build: buildIntegrationTests,
  outDir: OUT,
  timeoutEnv: 'PEERCHAT_INTEGRATION_TIMEOUT',
  defaultTimeoutMs: 240_000,
});
