// Bundles the extension host code, the terminal peer and the webview script.
// `--dev` adds source maps (never shipped: .vscodeignore drops *.map).
const esbuild = require('esbuild');

const dev = process.argv.includes('--dev');
const common = { bundle: true, sourcemap: dev, minify: !dev, logLevel: 'warning', legalComments: 'none' };

async function main() {
  await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: ['src/extension.ts'],
      outfile: 'dist/extension.js',
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: ['vscode'],
    }),
    esbuild.build({
      ...common,
      entryPoints: ['src/cli.ts'],
      outfile: 'dist/cli.js',
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      banner: { js: '#!/usr/bin/env node' },
    }),
    esbuild.build({
      ...common,
      entryPoints: ['webview/main.ts'],
      outfile: 'dist/webview.js',
      platform: 'browser',
      target: 'es2022',
      format: 'iife',
    }),
  ]);
}

main()
  .then(() => {
    // Codicons for the webview, shipped inside dist/ (node_modules never ships).
    const fs = require('fs');
    fs.mkdirSync('dist/codicons', { recursive: true });
    for (const f of ['codicon.css', 'codicon.ttf']) fs.copyFileSync(require.resolve(`@vscode/codicons/dist/${f}`), `dist/codicons/${f}`);
  })
  .catch((err) => {
  console.error(err);
  process.exit(1);
});
