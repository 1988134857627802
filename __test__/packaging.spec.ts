// The npm package layout of issue 14 (napi-rs's): one platform package per napi target under npm/, the main
// package's optional dependencies on exactly those, pinned to its own version, the generated loader asking for
// them, and what the tarballs carry (npm pack --dry-run). The install itself is tested by __test__/install/*.sh.
import test from 'ava'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, posix } from 'node:path'

const root = join(__dirname, '..')
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

/** napi target triple -> the platform package's name suffix and its os/cpu/libc, as napi-rs names them. */
const EXPECTED: Record<string, { platform: string; os: string; cpu: string; libc?: string }> = {
  'x86_64-unknown-linux-gnu': { platform: 'linux-x64-gnu', os: 'linux', cpu: 'x64', libc: 'glibc' },
  'aarch64-unknown-linux-gnu': { platform: 'linux-arm64-gnu', os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'x86_64-unknown-linux-musl': { platform: 'linux-x64-musl', os: 'linux', cpu: 'x64', libc: 'musl' },
  'x86_64-apple-darwin': { platform: 'darwin-x64', os: 'darwin', cpu: 'x64' },
  'aarch64-apple-darwin': { platform: 'darwin-arm64', os: 'darwin', cpu: 'arm64' },
  'x86_64-pc-windows-msvc': { platform: 'win32-x64-msvc', os: 'win32', cpu: 'x64' },
}

const targets: string[] = manifest.napi.targets

interface PackResult {
  files: { path: string }[]
  size: number
}

const packed = new Map<string, PackResult>()

/** `npm pack --dry-run --json` of the package in `dir` (once per directory): the files it would publish. */
function packList(dir: string): PackResult {
  const known = packed.get(dir)
  if (known !== undefined) return known
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const result: PackResult = JSON.parse(out)[0]
  packed.set(dir, result)
  return result
}

test('every napi target has its platform package under npm/ with os, cpu, libc and its .node as main', (t) => {
  t.deepEqual([...targets].sort(), Object.keys(EXPECTED).sort(), 'napi.targets are the targets this test knows')
  for (const triple of targets) {
    const want = EXPECTED[triple]
    const pkg = JSON.parse(readFileSync(join(root, 'npm', want.platform, 'package.json'), 'utf8'))
    const file = `glue.${want.platform}.node`
    t.is(pkg.name, `glue-pubsub-${want.platform}`, triple)
    t.is(pkg.version, manifest.version, `${pkg.name} has the main package's version`)
    t.deepEqual(pkg.os, [want.os], pkg.name)
    t.deepEqual(pkg.cpu, [want.cpu], pkg.name)
    t.deepEqual(pkg.libc, want.libc === undefined ? undefined : [want.libc], pkg.name)
    t.is(pkg.main, file, pkg.name)
    t.deepEqual(pkg.files, [file], pkg.name)
    t.is(pkg.license, manifest.license, pkg.name)
    t.deepEqual(pkg.engines, manifest.engines, pkg.name)
    t.true(existsSync(join(root, 'npm', want.platform, 'README.md')), `${pkg.name} has a README`)
  }
})

test('the main package depends optionally on each platform package, pinned to its own version', (t) => {
  const expected = Object.fromEntries(targets.map((triple) => [`glue-pubsub-${EXPECTED[triple].platform}`, manifest.version]))
  t.deepEqual(manifest.optionalDependencies, expected)
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'))
  t.deepEqual(lock.packages[''].optionalDependencies, expected, 'package-lock.json agrees')
})

test('the generated loader requires each platform package and checks its version', (t) => {
  const loader = readFileSync(join(root, 'binding.js'), 'utf8')
  for (const triple of targets) {
    const { platform } = EXPECTED[triple]
    t.true(loader.includes(`require('./glue.${platform}.node')`), `binding.js tries ./glue.${platform}.node`)
    t.true(loader.includes(`require('glue-pubsub-${platform}')`), `binding.js tries glue-pubsub-${platform}`)
    t.true(loader.includes(`require('glue-pubsub-${platform}/package.json').version`), platform)
  }
})

test('the main tarball carries LICENSE, PROTOCOL.md and the Rust sources for the fallback, no tests and no binary', (t) => {
  const files = new Set(packList(root).files.map((f) => f.path))
  for (const needed of [
    'LICENSE', 'README.md', 'package.json', 'docs/PROTOCOL.md', 'binding.js', 'binding.d.ts', 'dist/index.js',
    'dist/index.d.ts', 'bin/glue.js', 'scripts/install-native.js', 'Cargo.toml', 'Cargo.lock',
    'crates/glue-node/Cargo.toml', 'crates/glue-node/build.rs', 'crates/glue-node/src/lib.rs',
    'crates/glue-proto/src/lib.rs', 'crates/glue-io/src/lib.rs', 'crates/glue-raft/src/lib.rs',
  ]) {
    t.true(files.has(needed), `${needed} is packed`)
  }
  const unwanted = [...files].filter((f) =>
    /^crates\/[^/]+\/(tests|benches|examples|scripts)\//.test(f) || /\.node$/.test(f) || /^(__test__|bench|target|npm)\//.test(f))
  t.deepEqual(unwanted, [])
  // Every crate path that a Cargo.toml of the workspace names must be packed, or the fallback build fails.
  for (const member of ['glue-proto', 'glue-io', 'glue-raft', 'glue-node']) {
    t.true(files.has(`crates/${member}/Cargo.toml`), member)
  }
  t.true(readFileSync(join(root, 'README.md'), 'utf8').includes('](docs/PROTOCOL.md)'), 'the README links the packed PROTOCOL.md')
})

test('every source map in the main tarball names only files the tarball carries', (t) => {
  const files = new Set(packList(root).files.map((f) => f.path))
  const maps = [...files].filter((f) => f.endsWith('.map'))
  t.true(maps.length > 0, 'dist ships source maps')
  const missing: string[] = []
  for (const map of maps) {
    const { sources, sourceRoot } = JSON.parse(readFileSync(join(root, map), 'utf8'))
    for (const source of sources as string[]) {
      const path = normalize(posix.join(dirname(map), sourceRoot ?? '', source)).split('\\').join('/')
      if (!files.has(path)) missing.push(`${map} -> ${path}`)
    }
  }
  t.deepEqual(missing, [])
})

test('a platform tarball carries only its package.json, README and .node', (t) => {
  for (const triple of targets) {
    const { platform } = EXPECTED[triple]
    const dir = join(root, 'npm', platform)
    const files = packList(dir).files.map((f) => f.path).sort()
    const binary = `glue.${platform}.node`
    const expected = existsSync(join(dir, binary)) ? ['README.md', binary, 'package.json'] : ['README.md', 'package.json']
    t.deepEqual(files, expected, platform)
  }
})

test('when no native binary loads, the error says how to get one', (t) => {
  // A process of its own: the loader caches what it loaded. NAPI_RS_NATIVE_LIBRARY_PATH makes the loader try
  // only that (missing) file, as when no platform package fits and the install script did not run.
  const out = execFileSync(
    process.execPath,
    ['--import=tsx', '-e', "try { require('./src/transport/native').loadNative() } catch (e) { console.log(e.message) }"],
    { cwd: root, encoding: 'utf8', env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: join(root, 'no-such-binary.node') } },
  )
  t.regex(out, /^glue: no native binary loads on \w+-\w+ \(Cannot find native binding/)
  t.regex(out, /npm install-scripts approve glue-pubsub/)
  t.true(out.includes(join(root, 'scripts', 'install-native.js')))
})
