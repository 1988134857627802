#!/usr/bin/env node
'use strict'
/**
 * Post-processes the type declarations tsc wrote (default dist/, or the directory given) so that they compile under
 * consumers' settings too, not only under this package's target ES2022: removes the `#private;` member that tsc emits
 * for every class with `#private` fields, which is error TS18028 ("Private identifiers are only available when
 * targeting ECMAScript 2015 and higher") under target ES3/ES5, tsc's default target. What it loses: that marker keeps
 * an object literal with the same public members from being assignable to the class type; the public members and
 * their types are unchanged. Run by `npm run prepare` after tsc; __test__/dts-consumer.spec.ts checks the result.
 */
const { readdirSync, readFileSync, writeFileSync } = require('node:fs')
const { join, resolve } = require('node:path')

const PRIVATE_MARKER = /^[ \t]*#private;\r?\n/gm

/** Rewrites every .d.ts under `dir`; returns how many files changed. */
function stripPrivateMarkers(dir) {
  let changed = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) changed += stripPrivateMarkers(path)
    else if (entry.name.endsWith('.d.ts')) {
      const text = readFileSync(path, 'utf8')
      const stripped = text.replace(PRIVATE_MARKER, '')
      if (stripped !== text) {
        writeFileSync(path, stripped)
        changed++
      }
    }
  }
  return changed
}

if (require.main === module) stripPrivateMarkers(resolve(process.argv[2] ?? join(__dirname, '..', 'dist')))

module.exports = { stripPrivateMarkers }
