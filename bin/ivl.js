#!/usr/bin/env node
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const entry = join(__dirname, '..', 'dist', 'cli.js');
if (!existsSync(entry)) {
  console.error('ivl: the build is missing (dist/cli.js). Run `npm run build` (npm ci runs it for you).');
  process.exit(1);
}
require(entry);
