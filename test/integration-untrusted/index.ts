// Entry point VS Code calls in the extension host for the untrusted layer
// (extensionTestsPath = out/test/integration-untrusted/index.js, see test/harness/runUntrusted.js).
// The same runner as test/integration/index.ts: bundled here, it runs the *.test.js suites next to
// this bundle (out/test/integration-untrusted/), i.e. test/integration-untrusted/**/*.test.ts.
export { run } from '../integration/index';
