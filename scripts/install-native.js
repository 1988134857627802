#!/usr/bin/env node
/**
 * `npm install` hook: makes sure a native addon for this platform is there. In order:
 *
 * 1. the prebuilt binary of the optional dependency `glue-pubsub-<platform>` (e.g. glue-pubsub-linux-x64-gnu), which
 *    npm installs on the platforms it fits (its package.json has os/cpu/libc) and skips on all others: nothing to do
 *    (not in a git checkout of glue, which builds its own sources);
 * 2. a local `glue.<platform>.node` at the package root that loads (a git checkout after `npm run build:native`);
 * 3. a build from source, said up front: `cargo build --release --locked -p glue-node` into a temporary
 *    CARGO_TARGET_DIR outside node_modules (removed afterwards, so no target/ is left in the package), with cargo's
 *    progress shown (on the terminal when there is one: npm hides the output of install scripts otherwise), then
 *    the cdylib is copied to `glue.<platform>.node`, the name the generated loader (binding.js) looks for.
 *
 * GLUE_BUILD_FROM_SOURCE=1 skips 1 and 2. A CARGO_TARGET_DIR set by the caller is used and kept, and a git checkout
 * builds into its own target/. Exits non-zero, saying why, when nothing works.
 */
'use strict'

const { spawnSync } = require('node:child_process')
const { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join, resolve } = require('node:path')

const root = resolve(__dirname, '..')

/**
 * The controlling terminal, when there is one and npm hides this script's output (npm shows an install script's
 * output only when it fails, unless --foreground-scripts; not in CI): the notice and cargo's progress go there.
 */
const tty = (() => {
  if (process.stdout.isTTY || process.env.npm_config_foreground_scripts === 'true' || process.env.CI) return undefined
  try {
    return openSync('/dev/tty', 'w')
  } catch {
    return undefined
  }
})()

function log(line) {
  const text = `glue-pubsub install: ${line}\n`
  process.stdout.write(text)
  if (tty !== undefined) writeSync(tty, text)
}

/** Why the install cannot go on; thrown so that the temporary build directory is still removed. */
class InstallError extends Error {}

function fail(message) {
  throw new InstallError(message)
}

/** The napi-rs platform suffix: linux-x64-gnu, linux-x64-musl, darwin-arm64, win32-x64-msvc, ... */
function platformSuffix() {
  const { platform, arch } = process
  if (platform === 'linux') {
    if (process.report !== undefined) process.report.excludeNetwork = true // the report is slow with it
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

/** Loads a .node file (or a package); returns the error message, or undefined when it loaded. */
function tryLoad(file) {
  try {
    require(file)
    return undefined
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  }
}

/** The installed platform package `glue-pubsub-<suffix>`: { name, path, version }, or undefined. */
function findPrebuilt(suffix) {
  const name = `glue-pubsub-${suffix}`
  try {
    const path = require.resolve(name, { paths: [root] })
    const version = require(require.resolve(`${name}/package.json`, { paths: [root] })).version
    return { name, path, version }
  } catch {
    return undefined
  }
}

function buildFromSource(target, why, checkout) {
  const suffix = platformSuffix()
  if (!existsSync(join(root, 'crates', 'glue-node', 'Cargo.toml'))) {
    fail(`${why}, and there are no Rust sources (crates/glue-node) to build from`)
  }
  const version = spawnSync('cargo', ['--version'], { encoding: 'utf8' })
  if (version.error !== undefined || version.status !== 0) {
    fail(
      `${why}, and cargo was not found to build one from source ` +
        `(${version.error?.message ?? version.stderr.trim()}). Install Rust (https://rustup.rs) and run npm install ` +
        `again, or install on a platform with a prebuilt binary (see "Prebuilt binaries" in the README).`,
    )
  }
  // A checkout builds into its own target/ (kept, for incremental rebuilds), as does a CARGO_TARGET_DIR the caller
  // set; an installed package into a temporary directory outside node_modules, removed afterwards.
  const given = process.env.CARGO_TARGET_DIR || (checkout ? join(root, 'target') : undefined)
  const ownTargetDir = given === undefined
  const targetDir = ownTargetDir ? mkdtempSync(join(tmpdir(), 'glue-pubsub-build-')) : resolve(given)
  log(`${why}: BUILDING FROM SOURCE for ${suffix} with ${version.stdout.trim()}`)
  log(`this takes 2-5 minutes on 2 cores; build directory ${targetDir}${ownTargetDir ? ' (removed afterwards)' : ''}`)
  log('$ cargo build --release --locked -p glue-node')
  // Ctrl-C or a kill reaches cargo too (same process group); this process outlives it to remove the directory.
  const outlive = () => {}
  process.on('SIGINT', outlive)
  process.on('SIGTERM', outlive)
  try {
    const stdio = tty === undefined ? 'inherit' : ['ignore', tty, tty]
    const build = spawnSync('cargo', ['build', '--release', '--locked', '-p', 'glue-node'], {
      cwd: root,
      stdio,
      env: { ...process.env, CARGO_TARGET_DIR: targetDir },
    })
    if (build.error !== undefined || build.status !== 0) {
      fail(
        `cargo build --release --locked -p glue-node failed (${build.error?.message ?? (build.signal ? `killed by ${build.signal}` : `exit code ${build.status}`)}); ` +
          'see the output above',
      )
    }
    const library = join(targetDir, 'release', cargoLibraryName())
    if (!existsSync(library)) fail(`cargo succeeded but ${library} is missing`)
    log(`copying ${library} -> ${target}`)
    copyFileSync(library, target)
  } finally {
    if (ownTargetDir) rmSync(targetDir, { recursive: true, force: true })
    process.off('SIGINT', outlive)
    process.off('SIGTERM', outlive)
  }
}

function main() {
  const suffix = platformSuffix()
  const target = join(root, `glue.${suffix}.node`)
  const fromSource = process.env.GLUE_BUILD_FROM_SOURCE === '1'
  const ownVersion = require(join(root, 'package.json')).version
  log(`platform ${suffix}`)

  // In a git checkout of glue itself the addon is built from the sources at hand: a published platform package
  // that npm may have installed as an optional dependency would be an older build.
  const checkout = existsSync(join(root, '.git'))
  let why = 'GLUE_BUILD_FROM_SOURCE=1'
  if (!fromSource) {
    const prebuilt = checkout ? undefined : findPrebuilt(suffix)
    if (checkout) {
      why = 'a git checkout (prebuilt packages are for installs from npm)'
    } else if (prebuilt === undefined) {
      why = `no prebuilt binary for ${suffix} (the optional dependency glue-pubsub-${suffix} is not installed)`
    } else if (prebuilt.version !== ownVersion) {
      why = `the prebuilt ${prebuilt.name} is version ${prebuilt.version}, not ${ownVersion}`
    } else {
      const error = tryLoad(prebuilt.path)
      if (error === undefined) {
        log(`using the prebuilt binary of ${prebuilt.name}@${prebuilt.version} (${prebuilt.path}); nothing to compile`)
        return
      }
      why = `the prebuilt ${prebuilt.path} does not load (${error})`
    }
    if (existsSync(target)) {
      const error = tryLoad(target)
      if (error === undefined) {
        log(`using the existing ${target} (GLUE_BUILD_FROM_SOURCE=1 rebuilds it)`)
        return
      }
      why += `; the existing ${target} does not load (${error})`
    }
  }
  buildFromSource(target, why, checkout)
  const error = tryLoad(target)
  if (error !== undefined) fail(`the freshly built ${target} does not load: ${error}`)
  if (!existsSync(join(root, 'binding.js'))) {
    log('warning: binding.js is missing; run `npm run build:native` to generate it (needs @napi-rs/cli)')
  }
  log(`done: ${target}`)
}

try {
  main()
} catch (err) {
  const text = `glue-pubsub install: ERROR: ${err instanceof InstallError ? err.message : err?.stack ?? err}\n`
  process.stderr.write(text)
  if (tty !== undefined) writeSync(tty, text)
  process.exitCode = 1
} finally {
  if (tty !== undefined) closeSync(tty)
}
