#!/usr/bin/env bash
# The no-compile install test (issue 14): packs the main package and the linux-x64-gnu platform package, installs
# both from their tarballs into a fresh temporary app, offline (`npm install --offline --no-audit --no-fund`: the
# main package's dependencies come from the npm cache that the repository's own `npm install` filled) and with no
# cargo or rustc on PATH, then runs __test__/install/app.cjs there (two endpoints on loopback publish, receive and
# close). Asserts that nothing was compiled: the install script said it used the prebuilt package, the package has
# no glue.*.node of its own and no target/ directory, and the app loaded the platform package's binary. A second
# app denies glue-pubsub's install script in its allowScripts (npm >= 11.16; npm 12 skips unlisted scripts): no
# warning, the script does not run, and the app works all the same.
# Prints the tarball sizes and the install time.
#
# Needs dist/ (npm install or npx tsc -p tsconfig.build.json) and npm/linux-x64-gnu/glue.linux-x64-gnu.node
# (npm run prebuild -- linux-x64-gnu, or a copy of the native build). Linux x64 glibc only.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

# shellcheck source=checks.sh
. "$root/__test__/install/checks.sh"

platform=linux-x64-gnu
binary="npm/$platform/glue.$platform.node"
[ -f dist/index.js ] || { echo "dist/index.js is missing: run npm install (or npx tsc -p tsconfig.build.json) first" >&2; exit 1; }
[ -f "$binary" ] || { echo "$binary is missing: run npm run prebuild -- $platform (or copy the native build there)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/glue-prebuilt-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/pkgs"

echo "== pack"
echo "  $binary: $(node -e 'console.log(JSON.stringify(require("./scripts/lib/elf-info.js").elfInfo(process.argv[1])))' "$binary")"
npm pack --ignore-scripts --silent --pack-destination "$work/pkgs" >/dev/null
(cd "npm/$platform" && npm pack --ignore-scripts --silent --pack-destination "$work/pkgs" >/dev/null)
main_tgz=$(ls "$work/pkgs"/glue-pubsub-[0-9]*.tgz)
platform_tgz=$(ls "$work/pkgs"/glue-pubsub-$platform-*.tgz)
for tgz in "$main_tgz" "$platform_tgz"; do
  echo "  $(basename "$tgz"): $(stat -c %s "$tgz") bytes packed, $(tar -tzf "$tgz" | wc -l) files"
done
echo "  platform package files: $(tar -tzf "$platform_tgz" | sed 's|^package/||' | sort | tr '\n' ' ')"
check "the platform tarball holds only package.json, README.md and the .node" \
  test "$(tar -tzf "$platform_tgz" | sed 's|^package/||' | sort | tr '\n' ' ')" = "README.md glue.$platform.node package.json "
check "the main tarball holds no .node file" bash -c "! tar -tzf '$main_tgz' | grep -q '\\.node\$'"

# PATH without cargo and rustc: every directory that has either is left out.
nocargo_path=""
IFS=: read -r -a dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  [ -n "$dir" ] || continue
  if [ -e "$dir/cargo" ] || [ -e "$dir/rustc" ] || [ -e "$dir/rustup" ]; then continue; fi
  nocargo_path="${nocargo_path:+$nocargo_path:}$dir"
done
check "no cargo on the install's PATH" env PATH="$nocargo_path" bash -c '! command -v cargo >/dev/null && ! command -v rustc >/dev/null'

install_app() { # install_app <dir> <allowScripts JSON> [npm flags...]: npm's output to <dir>.log; prints the ms
  local dir=$1 allow=$2
  shift 2
  mkdir -p "$dir"
  echo "{ \"name\": \"glue-install-test-app\", \"version\": \"1.0.0\", \"private\": true, \"allowScripts\": $allow }" >"$dir/package.json"
  cp "$root/__test__/install/app.cjs" "$root/__test__/install/until.cjs" "$dir/"
  local start end
  start=$(date +%s%3N)
  (cd "$dir" && env PATH="$nocargo_path" CARGO_HOME="$work/no-cargo-home" RUSTUP_HOME="$work/no-rustup-home" \
    npm install --offline --no-audit --no-fund --foreground-scripts "$@" "$main_tgz" "$platform_tgz") >"$dir.log" 2>&1 || {
    cat "$dir.log" >&2
    echo "npm install failed in $dir" >&2
    return 1
  }
  end=$(date +%s%3N)
  echo $((end - start))
}

# The offline install resolves the main package's dependencies (commander, msgpackr, ...) from the npm cache. The
# repository's own `npm install` (from package-lock.json) caches their tarballs but not always the registry
# documents that a fresh app's install resolves the ranges with, so they are put in the cache first, at the locked
# versions (this is the only step that may use the network).
runtime_deps=$(node -e '
  const lock = require("./package-lock.json")
  const specs = Object.entries(lock.packages)
    .filter(([path, p]) => path.startsWith("node_modules/") && !p.dev && !p.devOptional && !p.peer && !p.link)
    .map(([path, p]) => `${path.slice(path.lastIndexOf("node_modules/") + 13)}@${p.version}`)
  console.log([...new Set(specs)].join(" "))')
echo "== npm cache add $runtime_deps"
# shellcheck disable=SC2086
npm cache add $runtime_deps >/dev/null 2>&1 || echo "  (npm cache add failed: the offline install below may not find them)"

echo "== install from the tarballs (offline, no cargo on PATH)"
ms=$(install_app "$work/app" '{}')
sed 's/^/  | /' "$work/app.log"
echo "  install took $((ms / 1000)).$(printf %03d $((ms % 1000))) s"
pkg="$work/app/node_modules/glue-pubsub"
check "the install script used the prebuilt package" grep -q "using the prebuilt binary of glue-pubsub-$platform@" "$work/app.log"
check "the install script did not build" bash -c "! grep -q 'BUILDING FROM SOURCE' '$work/app.log'"
check "no glue.*.node was made in node_modules/glue-pubsub" bash -c "! ls '$pkg'/glue.*.node >/dev/null 2>&1"
check "no target/ directory anywhere in the app" test -z "$(find "$work/app" -name target -type d)"
check "the platform package is installed" test -f "$work/app/node_modules/glue-pubsub-$platform/glue.$platform.node"
check "the install took less than 60 s (no compile)" test "$ms" -lt 60000

echo "== run the app (two endpoints on loopback publish, receive, close)"
out=$(cd "$work/app" && env PATH="$nocargo_path" node app.cjs) || true
echo "  $out"
check "the app published and received" grep -q '"ok":true' <<<"$out"
check "the app loaded the platform package's binary" grep -q "node_modules/glue-pubsub-$platform/glue.$platform.node" <<<"$out"

echo "== install with glue-pubsub's install script denied by allowScripts (npm install-scripts deny)"
# For a tarball npm keys allowScripts by its file: spec (for a registry install: the name, "glue-pubsub": false).
ms=$(install_app "$work/app-noscripts" "{ \"file:$main_tgz\": false }")
sed 's/^/  | /' "$work/app-noscripts.log"
echo "  install took $((ms / 1000)).$(printf %03d $((ms % 1000))) s"
check "the install script did not run" bash -c "! grep -q 'glue-pubsub install:' '$work/app-noscripts.log'"
check "npm gave no allowScripts warning" bash -c "! grep -q 'not yet covered by allowScripts' '$work/app-noscripts.log'"
out=$(cd "$work/app-noscripts" && env PATH="$nocargo_path" node app.cjs) || true
echo "  $out"
check "the app works without the install script" grep -q '"ok":true' <<<"$out"

report prebuilt-install
