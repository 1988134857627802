#!/usr/bin/env node
'use strict'
// The glue command line; the code lives in src/cli/ (compiled to dist/ by `npm run prepare`).
require('../dist/src/cli/main.js').run()
