// Files under a folder, recursively, whose name passes a test: sorted, skipping node_modules and
// dot folders. Node 20's test runner takes no globs, and the test bundler needs the same list.
'use strict';

const fs = require('fs');
const path = require('path');

function findFiles(dir, accept) {
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
      else if (e.isFile() && accept(e.name)) found.push(p);
    }
  };
  walk(dir);
  return found.sort();
}

module.exports = { findFiles };
