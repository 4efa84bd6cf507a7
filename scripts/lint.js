#!/usr/bin/env node
// `npm run lint`: ESLint (eslint.config.mjs) over the repository. Prints ESLint's report, then a
// last line exactly `lint: N passed, N failed`, counting files: a file fails with any error or
// warning. Exits non-zero when any file failed (or ESLint itself could not run).
//
//   node scripts/lint.js [--fix] [files or folders...]     default: the whole repository
'use strict';

const path = require('path');
const { ESLint } = require('eslint');

const REPO = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const fix = args.includes('--fix');
const targets = args.filter((a) => !a.startsWith('--'));

async function main() {
  const eslint = new ESLint({ cwd: REPO, fix });
  const results = await eslint.lintFiles(targets.length ? targets : ['.']);
  if (fix) await ESLint.outputFixes(results);
  const formatter = await eslint.loadFormatter('stylish');
  const report = await formatter.format(results, { cwd: REPO, rulesMeta: eslint.getRulesMetaForResults(results) });
  if (report) console.log(report);
  const failed = results.filter((r) => r.errorCount + r.warningCount > 0).length;
  console.log(`lint: ${results.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`lint: ${(err && err.stack) || err}`);
    console.log('lint: 0 passed, 1 failed');
    process.exitCode = 2;
  },
);
