#!/usr/bin/env bash
# The arm64 binary test (issue 14): checks npm/linux-arm64-gnu/glue.linux-arm64-gnu.node (from
# `npm run prebuild -- linux-arm64-gnu`) for its architecture (ELF machine aarch64) and glibc floor (no GLIBC_
# symbol newer than 2.17), then loads it under qemu-user with an arm64 node and calls it: the platform tarball is
# unpacked as node_modules/glue-pubsub-linux-arm64-gnu beside a copy of the generated loader binding.js, so that the
# loader itself picks the arm64 package, and __test__/install/native-smoke.cjs calls it: a one-voter Raft group
# commits a proposal, bad calls throw their ERR_GLUE_ codes, and two endpoints on loopback exchange a unicast and a
# broadcast (qemu-user 7.2 does not emulate setsockopt IP_MULTICAST_ALL, which glue sets on Linux: then the smoke
# says the network part was skipped and why, and the rest still counts).
#
# The emulator is Debian's qemu-user-static (installed with apt-get when missing and this runs as root); the arm64
# node is Debian's nodejs:arm64 and its libraries, downloaded with apt-get through a private apt configuration (the
# machine's own Debian sources with Architectures: arm64; the system's dpkg and apt state are not touched) and
# unpacked with dpkg-deb -x into GLUE_TOOLS_DIR (default ~/.cache/glue-pubsub-prebuild)/arm64-node-root. When the
# binary, the emulator or the arm64 node cannot be had, the test prints why it is skipped and exits 0.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

platform=linux-arm64-gnu
binary="npm/$platform/glue.$platform.node"
tools=${GLUE_TOOLS_DIR:-$HOME/.cache/glue-pubsub-prebuild}
rootfs="$tools/arm64-node-root"
# shellcheck source=checks.sh
. "$root/__test__/install/checks.sh"
finish() {
  if [ $((passed + failed)) -eq 0 ]; then
    echo "arm64-qemu: skipped"
  else
    report arm64-qemu "${1:+, 1 skipped}" || exit 1
  fi
  exit 0
}
skip() {
  echo "  SKIPPED: $*"
  finish skipped
}

echo "== $binary"
[ -f "$binary" ] || skip "$binary is not built (npm run prebuild -- $platform)"
info=$(node -e 'console.log(JSON.stringify(require("./scripts/lib/elf-info.js").elfInfo(process.argv[1])))' "$binary")
echo "  $info"
check "the ELF machine is aarch64" grep -q '"machine":"aarch64"' <<<"$info"
check "it links glibc (libc.so.6)" grep -q '"libc.so.6"' <<<"$info"
check "its newest GLIBC_ symbol version is 2.17" grep -q '"glibc":"2.17"' <<<"$info"

echo "== qemu-user"
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
if [ -z "$qemu" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "  apt-get install qemu-user-static"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user-static >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user-static >/dev/null 2>&1; } || true
  qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
fi
[ -n "$qemu" ] || skip "no qemu-aarch64 (Debian's qemu-user-static) and it could not be installed"
echo "  $qemu: $("$qemu" --version | head -1)"

echo "== arm64 node (Debian's nodejs:arm64, unpacked)"
if [ ! -x "$rootfs/usr/bin/node" ]; then
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || skip "no apt-get/dpkg-deb to fetch Debian's nodejs:arm64"
  sources=$(ls /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$sources" ] || skip "no deb822 apt sources (/etc/apt/sources.list.d/*.sources) to take the Debian mirror from"
  apt_dir="$tools/arm64-apt"
  rm -rf "$apt_dir" "$rootfs.partial"
  mkdir -p "$apt_dir/sources" "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/cache" "$apt_dir/debs" "$rootfs.partial"
  touch "$apt_dir/status"
  # The machine's own Debian sources, each stanza limited to arm64.
  for file in $sources; do
    awk 'BEGIN { RS = ""; ORS = "\n\n" } /Types:/ { print $0 "\nArchitectures: arm64" }' "$file" >"$apt_dir/sources/$(basename "$file")"
  done
  apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir/sources"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status" -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::Cache::Archives=$apt_dir/archives" -o APT::Architecture=arm64 -o APT::Architectures::=arm64
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -q >"$apt_dir/update.log" 2>&1 || skip "apt-get update for arm64 failed ($(tail -1 "$apt_dir/update.log"))"
  packages=$(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances --no-pre-depends nodejs | grep -v '^ ' | grep -v '^<' | sort -u | tr '\n' ' ')
  echo "  apt-get download $packages"
  # shellcheck disable=SC2086
  (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download $packages >"$apt_dir/download.log" 2>&1) ||
    skip "apt-get download of nodejs:arm64 failed ($(tail -1 "$apt_dir/download.log"))"
  for deb in "$apt_dir"/debs/*.deb; do dpkg-deb -x "$deb" "$rootfs.partial"; done
  rm -rf "$rootfs" "$apt_dir"
  mv "$rootfs.partial" "$rootfs"
fi
[ -x "$rootfs/usr/bin/node" ] || skip "no arm64 node in $rootfs"
export QEMU_LD_PREFIX="$rootfs"
node_version=$("$qemu" "$rootfs/usr/bin/node" -p 'process.arch + " " + process.version + " napi " + process.versions.napi') ||
  skip "the arm64 node does not start under $qemu"
echo "  $rootfs/usr/bin/node: $node_version"

echo "== load and call under qemu (the loader picks glue-pubsub-$platform)"
work=$(mktemp -d "${TMPDIR:-/tmp}/glue-arm64-XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "npm/$platform" && npm pack --ignore-scripts --silent --pack-destination "$work" >/dev/null)
mkdir -p "$work/app/node_modules/glue-pubsub-$platform"
tar -xzf "$work"/glue-pubsub-$platform-*.tgz -C "$work/app/node_modules/glue-pubsub-$platform" --strip-components=1
cp binding.js "$work/app/binding.js"
cp __test__/install/native-smoke.cjs __test__/install/until.cjs "$work/app/"
out=$(cd "$work/app" && env -u NAPI_RS_NATIVE_LIBRARY_PATH "$qemu" "$rootfs/usr/bin/node" native-smoke.cjs ./binding.js 2>&1) || true
echo "  $out"
check "the arm64 node loaded the binary and called it" grep -q '"ok":true,"arch":"arm64"' <<<"$out"
check "the loader took it from the platform package" grep -q "node_modules/glue-pubsub-$platform/glue.$platform.node" <<<"$out"
check "a one-voter Raft group committed a proposal" grep -q '"raftCommitted":\["hello raft"\]' <<<"$out"
check "bad calls threw their codes" grep -q '"codes":\["ERR_GLUE_UNKNOWN_PEER","ERR_GLUE_CLOSED","ERR_GLUE_INVALID_OPTION"\]' <<<"$out"
echo "  network part: $(sed -n 's/.*"network":"\([^"]*\)".*/\1/p' <<<"$out")"
finish
