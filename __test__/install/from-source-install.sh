#!/usr/bin/env bash
# The from-source fallback test (issue 14): packs the main package alone and installs it from its tarball into a
# fresh temporary app, offline, so that no platform package fits (none is in the npm cache: the optional
# dependencies are skipped) and the install script builds the addon with cargo. Asserts that it said so up front,
# showed cargo's output, left a loadable glue.linux-x64-gnu.node in the package and no build tree behind (no
# target/ in the app, no glue-pubsub-build-* directory left in TMPDIR), then runs __test__/install/app.cjs there.
# Takes a cold release build (3-5 minutes on 2 cores). Needs cargo and dist/ (npm install).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

# shellcheck source=checks.sh
. "$root/__test__/install/checks.sh"

[ -f dist/index.js ] || { echo "dist/index.js is missing: run npm install (or npx tsc -p tsconfig.build.json) first" >&2; exit 1; }
command -v cargo >/dev/null || { echo "cargo is not on PATH: the from-source fallback needs it" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/glue-source-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/pkgs" "$work/tmp" "$work/app"

echo "== pack the main package"
npm pack --ignore-scripts --silent --pack-destination "$work/pkgs" >/dev/null
main_tgz=$(ls "$work/pkgs"/glue-pubsub-[0-9]*.tgz)
echo "  $(basename "$main_tgz"): $(stat -c %s "$main_tgz") bytes packed"

echo '{ "name": "glue-source-install-test-app", "version": "1.0.0", "private": true }' >"$work/app/package.json"
cp __test__/install/app.cjs __test__/install/until.cjs "$work/app/"

echo "== install from the tarball (offline: no platform package can be had, so the install script builds)"
start=$(date +%s%3N)
status=0
# CARGO_TARGET_DIR unset: the install script must make (and remove) its own build directory, in TMPDIR.
(cd "$work/app" && env -u CARGO_TARGET_DIR TMPDIR="$work/tmp" \
  npm install --offline --no-audit --no-fund --foreground-scripts "$main_tgz") >"$work/install.log" 2>&1 || status=$?
ms=$(($(date +%s%3N) - start))
grep -v '^ *Compiling ' "$work/install.log" | sed 's/^/  | /'
echo "  ($(grep -c '^ *Compiling ' "$work/install.log" || true) 'Compiling' lines of cargo not shown)"
echo "  install took $((ms / 1000)) s"
pkg="$work/app/node_modules/glue-pubsub"
check "npm install succeeded" test "$status" -eq 0
check "the install script said it builds from source, and why, before cargo's output" \
  bash -c "grep -e 'BUILDING FROM SOURCE' -e '^ *Compiling ' '$work/install.log' | head -1 | grep -q 'no prebuilt binary for linux-x64-gnu.*BUILDING FROM SOURCE'"
check "cargo's progress was shown" grep -q 'Compiling glue-node' "$work/install.log"
check "glue.linux-x64-gnu.node is in the package" test -f "$pkg/glue.linux-x64-gnu.node"
check "no platform package was installed" test ! -e "$work/app/node_modules/glue-pubsub-linux-x64-gnu"
check "no target/ directory anywhere in the app" test -z "$(find "$work/app" -name target -type d)"
check "the temporary build directory was removed" test -z "$(ls "$work/tmp" | grep glue-pubsub-build- || true)"

echo "== run the app"
out=$(cd "$work/app" && node app.cjs) || true
echo "  $out"
check "the app published and received with the built binary" grep -q "\"ok\":true.*node_modules/glue-pubsub/glue.linux-x64-gnu.node" <<<"$out"

report from-source-install
