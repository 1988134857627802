/**
 * Finds the optional peer dependencies `yjs` and `y-protocols/awareness` — the very copy the application's document
 * comes from. Both packages ship an ECMAScript-module build (what `import` loads) and a CommonJS build (what
 * `require` loads); they are two separate instances of Yjs, and Yjs breaks when one instance works on another's
 * document (its constructor checks fail: edits silently stop syncing). Glue compiles to CommonJS, so a plain
 * `require('yjs')` would be wrong for every application that uses `import`. Hence, per document:
 * 1. the CommonJS build, if the application already loaded it and the document is one of its `Doc`s;
 * 2. else the ES module build, through `require(esm)` (Node ≥ 20.19), which returns the instance the application's
 *    `import` loaded (the same file, so the same module), if the document is one of its `Doc`s;
 * 3. else the CommonJS build, loaded now, if the document is one of its `Doc`s;
 * otherwise a TypeError (the document comes from a copy of yjs that glue does not resolve: deduplicate yjs).
 * Only `glue-pubsub/yjs` loads this file; without the packages it throws an Error that says what to install.
 */
import { dirname, join } from 'node:path'

/** The `yjs` module. */
export type YModule = typeof import('yjs', { with: { 'resolution-mode': 'import' } })
/** The `y-protocols/awareness` module. */
export type AwarenessModule = typeof import('y-protocols/awareness', { with: { 'resolution-mode': 'import' } })
/** A Yjs document. */
export type Doc = import('yjs', { with: { 'resolution-mode': 'import' } }).Doc
/** A y-protocols awareness instance. */
export type Awareness = import('y-protocols/awareness', { with: { 'resolution-mode': 'import' } }).Awareness

/** One build of the two packages: functions that work on the documents of that build. */
export interface YjsBuild {
  readonly Y: YModule
  readonly awarenessProtocol: AwarenessModule
}

const builds: { cjs?: YjsBuild; esm?: YjsBuild | null } = {}

function missing(err: unknown): Error {
  const detail = (err as Error).message
  const message = `glue-pubsub/yjs needs the peer dependencies yjs and y-protocols (npm install yjs y-protocols): ${
    detail
  }`
  return new Error(message, { cause: err })
}

function cjsBuild(): YjsBuild {
  try {
    builds.cjs ??= {
      Y: require('yjs') as YModule,
      awarenessProtocol: require('y-protocols/awareness') as AwarenessModule,
    }
  } catch (err) {
    throw missing(err)
  }
  return builds.cjs
}

/** The ES module build, or null when this Node cannot `require()` ES modules or the files are not found. */
function esmBuild(): YjsBuild | null {
  if (builds.esm !== undefined) return builds.esm
  try {
    const pkg = require.resolve('yjs/package.json')
    const manifest = require(pkg) as { exports?: { '.'?: { import?: unknown } } }
    const entry = manifest.exports?.['.']?.import
    if (typeof entry !== 'string') return (builds.esm = null)
    const Y = require(join(dirname(pkg), entry)) as YModule
    builds.esm = { Y, awarenessProtocol: require('y-protocols/awareness.js') as AwarenessModule }
  } catch {
    builds.esm = null
  }
  return builds.esm
}

function isDocOf(build: YjsBuild | null | undefined, doc: unknown): build is YjsBuild {
  return build != null && doc instanceof build.Y.Doc
}

/** The build `doc` belongs to (see the module doc). Throws TypeError for anything else, Error without the packages. */
export function yjsFor(doc: unknown): YjsBuild {
  let cjsPath: string
  try {
    cjsPath = require.resolve('yjs')
  } catch (err) {
    throw missing(err)
  }
  if (require.cache[cjsPath] !== undefined && isDocOf(cjsBuild(), doc)) return cjsBuild()
  const esm = esmBuild()
  if (isDocOf(esm, doc)) return esm
  if (isDocOf(cjsBuild(), doc)) return cjsBuild()
  throw new TypeError(
    'doc must be a Y.Doc of the yjs package that glue-pubsub resolves (is another copy of yjs installed? dedupe it)',
  )
}
