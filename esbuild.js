// Bundles the extension host code, the terminal peer and the webview script.
// `--dev` adds source maps (never shipped: .vscodeignore drops *.map).
const esbuild = require('esbuild');

const dev = process.argv.includes('--dev');
const common = { bundle: true, sourcemap: dev, minify: !dev, logLevel: 'warning', legalComments: 'none' };

// The certificate maker (an X.509 library, most of the bundle's size) is needed once per
// identity: one copy in dist/certificate.js, loaded on demand by the extension and the terminal
// peer alike, instead of one inside each bundle.
const sharedCertificate = {
  name: 'shared-certificate',
  setup(build) {
    build.onResolve({ filter: /^\.\/certificate$/ }, (args) =>
      args.importer.endsWith(`identity${require('node:path').sep}identity.ts`) ? { path: './certificate.js', external: true } : undefined,
    );
  },
};

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
      plugins: [sharedCertificate],
    }),
    esbuild.build({
      ...common,
      entryPoints: ['src/cli.ts'],
      outfile: 'dist/cli.js',
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      banner: { js: '#!/usr/bin/env node' },
      plugins: [sharedCertificate],
    }),
    esbuild.build({
      ...common,
      entryPoints: ['src/core/identity/certificate.ts'],
      outfile: 'dist/certificate.js',
      platform: 'node',
      target: 'node20',
      format: 'cjs',
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
