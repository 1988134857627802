/**
 * What a built `.node` file is, read from its ELF headers with binutils' `readelf` (on every machine that has a C
 * toolchain): the machine it runs on, the libc it was linked against (the NEEDED entries) and the newest GLIBC_x.y
 * symbol version it asks for, which is the oldest glibc that can load it.
 */
'use strict'

const { openSync, readSync, closeSync } = require('node:fs')
const { spawnSync } = require('node:child_process')

/** e_machine values of the ELF header (the System V ABI's table) for the architectures glue is built for. */
const MACHINES = { 0x3e: 'x86-64', 0xb7: 'aarch64', 0x28: 'arm' }

/** The architecture in the ELF header of `file` ('x86-64', 'aarch64', ...); throws when it is not an ELF file. */
function elfMachine(file) {
  const header = Buffer.alloc(20)
  const fd = openSync(file, 'r')
  try {
    readSync(fd, header, 0, header.length, 0)
  } finally {
    closeSync(fd)
  }
  if (header.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not an ELF file`)
  const littleEndian = header[5] === 1
  const machine = littleEndian ? header.readUInt16LE(18) : header.readUInt16BE(18)
  return MACHINES[machine] ?? `e_machine 0x${machine.toString(16)}`
}

/** Compares two dotted versions ('2.17' < '2.28'). */
function compareVersions(a, b) {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

/**
 * `{ machine, needed, glibc }` of `file`: needed = the shared libraries it links (libc.so.6, libc.musl-x86_64.so.1),
 * glibc = the newest GLIBC_ symbol version it needs (undefined for a musl build). Needs `readelf` on PATH.
 */
function elfInfo(file) {
  const machine = elfMachine(file)
  const run = spawnSync('readelf', ['--wide', '--dynamic', '--version-info', file], { encoding: 'utf8' })
  if (run.error !== undefined || run.status !== 0) {
    throw new Error(`readelf ${file} failed: ${run.error?.message ?? run.stderr.trim()}`)
  }
  const needed = [...run.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1])
  const versions = [...new Set([...run.stdout.matchAll(/Name: GLIBC_([0-9.]+)/g)].map((m) => m[1]))]
  versions.sort(compareVersions)
  return { machine, needed, glibc: versions.at(-1) }
}

module.exports = { elfInfo, elfMachine, compareVersions }
