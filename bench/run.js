#!/usr/bin/env node
// `npm run bench`: runs bench/main.ts through tsx (the benchmarks import the TypeScript core
// directly, as the unit tests do). Arguments pass through: npm run bench -- --only=1,3 --quick
'use strict';

const cp = require('child_process');
const path = require('path');

const child = cp.spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, sig) => process.exit(code ?? (sig ? 130 : 1)));
