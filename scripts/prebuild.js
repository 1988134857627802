#!/usr/bin/env node
/**
 * `npm run prebuild [-- <platform>...]`: builds the prebuilt binaries that this Linux x64 machine can build, each
 * into its platform package `npm/<platform>/glue.<platform>.node`:
 *
 *   linux-x64-gnu    x86_64-unknown-linux-gnu, against glibc 2.17 (zig's `.2.17` target suffix)
 *   linux-arm64-gnu  aarch64-unknown-linux-gnu, cross-compiled, against glibc 2.17
 *   linux-x64-musl   x86_64-unknown-linux-musl, cross-compiled, linked dynamically against musl
 *
 * Every build goes through `napi build -x` (cargo-zigbuild, with zig as the C compiler and linker), so it needs no
 * system cross toolchain. The tools come from the registries only and are installed, pinned, on first use into
 * GLUE_TOOLS_DIR (default ~/.cache/glue-pubsub-prebuild; nothing is put in the repository):
 *
 *   zig            ziglang==ZIG_VERSION from PyPI (`pip install --target`)
 *   cargo-zigbuild CARGO_ZIGBUILD_VERSION from crates.io (`cargo install --locked --root`)
 *   Rust std       `rustup target add <triple>` for each target (rustup's own download)
 *
 * After each build the binary's ELF header is checked (architecture, libc, newest GLIBC_ symbol version <= the
 * floor) and a line says what was built. Exits non-zero, saying why, when a tool cannot be installed or a build or
 * check fails. macOS and Windows binaries are not built here: .github/workflows/release.yml builds them on runners
 * with their SDKs. `node scripts/prebuild.js --tools-installed` exits 0 when the tools are already installed.
 */
'use strict'

const { spawnSync } = require('node:child_process')
const { existsSync, mkdirSync, statSync, symlinkSync, rmSync } = require('node:fs')
const { homedir } = require('node:os')
const { delimiter, dirname, join, resolve } = require('node:path')
const { elfInfo, compareVersions } = require('./lib/elf-info.js')

/** Pinned tool versions (zig 0.14.1 is the one napi-rs's template CI uses with cargo-zigbuild). */
const ZIG_VERSION = '0.14.1'
const CARGO_ZIGBUILD_VERSION = '0.24.1'
/** The oldest glibc the gnu binaries load on (CentOS/RHEL 7, Debian 8, Ubuntu 14.04 and later). */
const GLIBC_FLOOR = '2.17'

/** The targets built here: napi-rs platform name, Rust triple, what cargo-zigbuild is given, expected ELF facts. */
const TARGETS = [
  {
    platform: 'linux-x64-gnu',
    triple: 'x86_64-unknown-linux-gnu',
    zigTarget: `x86_64-unknown-linux-gnu.${GLIBC_FLOOR}`,
    machine: 'x86-64',
    libc: 'libc.so.6',
  },
  {
    platform: 'linux-arm64-gnu',
    triple: 'aarch64-unknown-linux-gnu',
    zigTarget: `aarch64-unknown-linux-gnu.${GLIBC_FLOOR}`,
    machine: 'aarch64',
    libc: 'libc.so.6',
  },
  {
    platform: 'linux-x64-musl',
    triple: 'x86_64-unknown-linux-musl',
    zigTarget: 'x86_64-unknown-linux-musl',
    machine: 'x86-64',
    libc: 'libc.so',
    // Rust links musl statically by default, which rules out a cdylib that Node can dlopen: link it dynamically,
    // as the musl Node binary itself is.
    env: { CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS: '-C target-feature=-crt-static' },
  },
]

const root = resolve(__dirname, '..')
const toolsDir = resolve(process.env.GLUE_TOOLS_DIR || join(homedir(), '.cache', 'glue-pubsub-prebuild'))
const toolsBin = join(toolsDir, 'bin')
const log = (line) => console.log(`prebuild: ${line}`)

function fail(message) {
  console.error(`prebuild: ERROR: ${message}`)
  process.exit(1)
}

/** Runs a command with inherited stdio (progress shown); fails with `what` when it does not exit 0. */
function run(what, command, args, options = {}) {
  log(`$ ${command} ${args.join(' ')}`)
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options })
  if (result.error !== undefined || result.status !== 0) {
    fail(`${what} failed (${result.error?.message ?? `exit code ${result.status ?? result.signal}`})`)
  }
}

/** The stdout of a command, or undefined when it cannot run or fails. */
function output(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options })
  return result.error === undefined && result.status === 0 ? result.stdout.trim() : undefined
}

/** zig from PyPI's ziglang wheel, linked as <tools>/bin/zig. */
function ensureZig(env) {
  const dir = join(toolsDir, `ziglang-${ZIG_VERSION}`)
  const zig = join(dir, 'ziglang', 'zig')
  if (!existsSync(zig)) {
    const python = ['python3', 'python'].find((p) => output(p, ['-m', 'pip', '--version']) !== undefined)
    if (python === undefined) fail('zig comes from PyPI (ziglang) but neither python3 nor python has pip')
    rmSync(dir, { recursive: true, force: true })
    run(`pip install ziglang==${ZIG_VERSION}`, python, [
      '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', dir,
      `ziglang==${ZIG_VERSION}`,
    ])
  }
  const link = join(toolsBin, 'zig')
  rmSync(link, { force: true })
  symlinkSync(zig, link)
  const version = output('zig', ['version'], { env })
  if (version !== ZIG_VERSION) fail(`zig on PATH reports ${version ?? 'nothing'}, expected ${ZIG_VERSION}`)
  log(`zig ${version} (${zig})`)
}

/** cargo-zigbuild from crates.io, into <tools>/bin. */
function ensureCargoZigbuild(env) {
  const binary = join(toolsBin, 'cargo-zigbuild')
  const version = existsSync(binary) ? output(binary, ['--version']) : undefined
  if (version !== `cargo-zigbuild ${CARGO_ZIGBUILD_VERSION}`) {
    run(`cargo install cargo-zigbuild@${CARGO_ZIGBUILD_VERSION}`, 'cargo', [
      'install', 'cargo-zigbuild', '--version', CARGO_ZIGBUILD_VERSION, '--locked', '--root', toolsDir, '--force',
    ], { env })
  }
  log(`${output(binary, ['--version'])} (${binary})`)
}

/** The Rust standard library for `triple`, via rustup (the only source that matches the installed toolchain). */
function ensureRustTarget(triple, env) {
  const sysroot = output('rustc', ['--print', 'sysroot'], { env })
  if (sysroot === undefined) fail('rustc was not found: install Rust (https://rustup.rs)')
  if (existsSync(join(sysroot, 'lib', 'rustlib', triple, 'lib'))) return
  if (output('rustup', ['--version'], { env }) === undefined) {
    fail(`the Rust standard library for ${triple} is missing from ${sysroot} and rustup is not there to add it`)
  }
  run(`rustup target add ${triple}`, 'rustup', ['target', 'add', triple], { env })
}

/** The `napi` command of the @napi-rs/cli dev dependency (its package exports no path to it). */
function napiCli() {
  const manifest = require.resolve('@napi-rs/cli/package.json', { paths: [root] })
  return join(dirname(manifest), require(manifest).bin.napi)
}

/** Builds one target into npm/<platform>/ and checks the result; returns the summary line. */
function build(target, env) {
  const outDir = join(root, 'npm', target.platform)
  const file = join(outDir, `glue.${target.platform}.node`)
  if (!existsSync(join(outDir, 'package.json'))) fail(`${outDir}/package.json is missing (npx napi create-npm-dirs)`)
  ensureRustTarget(target.triple, env)
  const started = Date.now()
  run(`napi build --target ${target.zigTarget}`, process.execPath, [
    napiCli(),
    'build', '--platform', '--release', '--strip',
    '--manifest-path', 'crates/glue-node/Cargo.toml',
    '--target', target.zigTarget, '--cross-compile',
    '--output-dir', outDir, '--no-js', '--no-dts-cache',
  ], { env: { ...env, ...target.env } })
  // napi build writes the type definitions next to the binary; binding.d.ts at the root is the one that ships.
  rmSync(join(outDir, 'index.d.ts'), { force: true })
  if (!existsSync(file)) fail(`napi build succeeded but ${file} is missing`)
  const info = elfInfo(file)
  if (info.machine !== target.machine) fail(`${file} is built for ${info.machine}, expected ${target.machine}`)
  if (!info.needed.some((lib) => lib.startsWith(target.libc))) {
    fail(`${file} links ${info.needed.join(', ')}, expected ${target.libc}`)
  }
  if (target.libc === 'libc.so.6') {
    if (info.glibc === undefined || compareVersions(info.glibc, GLIBC_FLOOR) > 0) {
      fail(`${file} needs GLIBC_${info.glibc}, newer than the floor ${GLIBC_FLOOR}`)
    }
  } else if (info.glibc !== undefined) {
    fail(`${file} is a musl build but needs GLIBC_${info.glibc}`)
  }
  const size = (statSync(file).size / 1048576).toFixed(1)
  const libc = info.glibc === undefined ? info.needed.find((l) => l.startsWith(target.libc)) : `GLIBC_${info.glibc}`
  const seconds = ((Date.now() - started) / 1000).toFixed(0)
  return `${target.platform}: npm/${target.platform}/glue.${target.platform}.node, ${info.machine}, newest libc symbol ${libc}, ${size} MB, ${seconds} s`
}

/** Whether zig and cargo-zigbuild, at their pinned versions, are already in the tools directory. */
function toolsInstalled() {
  const zig = join(toolsDir, `ziglang-${ZIG_VERSION}`, 'ziglang', 'zig')
  const czb = join(toolsBin, 'cargo-zigbuild')
  return existsSync(zig) && existsSync(czb) && output(czb, ['--version']) === `cargo-zigbuild ${CARGO_ZIGBUILD_VERSION}`
}

function main() {
  if (process.argv[2] === '--tools-installed') {
    // For CI: exit 0 when a build needs no tool installation (zig and cargo-zigbuild are there), 1 otherwise.
    process.exitCode = toolsInstalled() ? 0 : 1
    return
  }
  const wanted = process.argv.slice(2)
  const unknown = wanted.filter((p) => !TARGETS.some((t) => t.platform === p))
  if (unknown.length > 0) {
    fail(`unknown platform ${unknown.join(', ')}; this machine builds ${TARGETS.map((t) => t.platform).join(', ')}`)
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(`npm run prebuild runs on Linux x64 (this is ${process.platform}-${process.arch}); see .github/workflows/release.yml`)
  }
  const targets = wanted.length === 0 ? TARGETS : TARGETS.filter((t) => wanted.includes(t.platform))
  mkdirSync(toolsBin, { recursive: true })
  const env = { ...process.env, PATH: `${toolsBin}${delimiter}${process.env.PATH ?? ''}` }
  log(`tools in ${toolsDir}`)
  ensureZig(env)
  ensureCargoZigbuild(env)
  const lines = targets.map((target) => build(target, env))
  log('built:')
  for (const line of lines) log(`  ${line}`)
}

main()
