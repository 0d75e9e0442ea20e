#!/usr/bin/env node
// Bundles the GitHub Action (starter/action.ts and every dependency) into one file that the
// runner executes with no `npm install`: `node scripts/build-action.js [outfile]`, default
// dist-action/index.js. The same options build the committed file and the test's fresh copy,
// so the test can compare the two byte for byte.
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const outfile = path.resolve(process.argv[2] ?? path.join(root, 'dist-action', 'index.js'));

esbuild
  .build({
    absWorkingDir: root,
    entryPoints: ['starter/action.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    // action.yml runs it on node24; node20 syntax keeps it runnable on the project's own Node.
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
  })
  .catch(() => {
    process.exitCode = 1;
  });
