#!/usr/bin/env node
/**
 * `npm install` hook: makes sure a native addon for this platform is there.
 *
 * 1. a prebuilt binary from the optional dependency `glue-pubsub-<platform>` (e.g. glue-pubsub-linux-x64-gnu), or
 * 2. a local `glue.<platform>.node` at the package root that loads, or
 * 3. a build from source: `cargo build --release -p glue-node`, then target/release/libglue_node.so (.dylib, .dll)
 *    is copied to `glue.<platform>.node`, the name the generated loader (binding.js) looks for.
 *
 * Set GLUE_BUILD_FROM_SOURCE=1 to skip 1 and 2. Exits non-zero, saying why, when nothing works.
 */
'use strict'

const { spawnSync } = require('node:child_process')
const { copyFileSync, existsSync } = require('node:fs')
const { join, resolve } = require('node:path')

const root = resolve(__dirname, '..')
const log = (line) => console.log(`glue-pubsub install: ${line}`)

function fail(message) {
  console.error(`glue-pubsub install: ERROR: ${message}`)
  process.exit(1)
}

/** The napi-rs platform suffix: linux-x64-gnu, darwin-arm64, win32-x64-msvc, ... */
function platformSuffix() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const glibc = process.report?.getReport()?.header?.glibcVersionRuntime
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

/** The file name cargo gives the cdylib of crate glue-node on this OS. */
function cargoLibraryName() {
  if (process.platform === 'win32') return 'glue_node.dll'
  if (process.platform === 'darwin') return 'libglue_node.dylib'
  return 'libglue_node.so'
}

/** Loads a .node file; returns the error message, or undefined when it loaded. */
function tryLoad(file) {
  try {
    require(file)
    return undefined
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  }
}

function findPrebuilt(suffix) {
  const name = `glue-pubsub-${suffix}`
  try {
    return { name, path: require.resolve(name, { paths: [root] }) }
  } catch {
    return undefined
  }
}

function buildFromSource(target) {
  if (!existsSync(join(root, 'crates', 'glue-node', 'Cargo.toml'))) {
    fail(`no prebuilt binary for ${platformSuffix()} and no Rust sources (crates/glue-node) to build from`)
  }
  const version = spawnSync('cargo', ['--version'], { encoding: 'utf8' })
  if (version.error !== undefined || version.status !== 0) {
    fail(
      `no prebuilt binary for ${platformSuffix()}, and cargo was not found to build one from source ` +
        `(${version.error?.message ?? version.stderr.trim()}). Install Rust (https://rustup.rs) and run npm install again.`,
    )
  }
  log(`building from source with ${version.stdout.trim()}: cargo build --release -p glue-node`)
  const build = spawnSync('cargo', ['build', '--release', '-p', 'glue-node'], { cwd: root, stdio: 'inherit' })
  if (build.error !== undefined || build.status !== 0) {
    fail(
      `cargo build --release -p glue-node failed (${build.error?.message ?? `exit code ${build.status}`}); see the output above`,
    )
  }
  const targetDir = resolve(root, process.env.CARGO_TARGET_DIR || 'target')
  const library = join(targetDir, 'release', cargoLibraryName())
  if (!existsSync(library)) fail(`cargo succeeded but ${library} is missing`)
  log(`copying ${library} -> ${target}`)
  copyFileSync(library, target)
}

function main() {
  const suffix = platformSuffix()
  const target = join(root, `glue.${suffix}.node`)
  const fromSource = process.env.GLUE_BUILD_FROM_SOURCE === '1'
  log(`platform ${suffix}`)

  const prebuilt = fromSource ? undefined : findPrebuilt(suffix)
  if (prebuilt !== undefined) {
    log(`using the prebuilt binary of ${prebuilt.name} (${prebuilt.path})`)
    return
  }
  if (!fromSource && existsSync(target)) {
    const error = tryLoad(target)
    if (error === undefined) {
      log(`using the existing ${target} (GLUE_BUILD_FROM_SOURCE=1 rebuilds it)`)
      return
    }
    log(`the existing ${target} does not load (${error}); rebuilding`)
  }
  buildFromSource(target)
  const error = tryLoad(target)
  if (error !== undefined) fail(`the freshly built ${target} does not load: ${error}`)
  if (!existsSync(join(root, 'binding.js'))) {
    log('warning: binding.js is missing; run `npm run build:native` to generate it (needs @napi-rs/cli)')
  }
  log(`done: ${target}`)
}

main()
