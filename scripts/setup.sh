#!/usr/bin/env bash
# Everything `npm start` and `npm test` need on a fresh Debian machine, idempotent and incremental:
# system packages (apt, only when missing), npm dependencies (only when the lockfile changed), the
# native addon (scripts/build-addon.mjs, only when missing or stale), the TypeScript build, and the
# demo model (only once).
#
# The addon is compiled once per change: `npm ci` runs the package's install script
# (scripts/build-addon.mjs), and the same script, run again below, finds the addon up to date.
# Each stage prints a line with the seconds since set-up started; the long ones (apt, the compile,
# the demo model) print their own progress lines as they go.
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
log() { printf '[bert-serve setup %ss] %s\n' "$((SECONDS - START))" "$*" >&2; }

log "system packages (apt, only what is missing)"
bash scripts/install-system-deps.sh

# npm ci when node_modules is missing or older than the lockfile. --foreground-scripts shows the
# addon's build (the install script) as it happens instead of minutes of silence.
# ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node (a development dependency, only bench/ uses it)
# would otherwise download its CUDA provider from outside during install; its CPU binaries are in
# the npm package, so set-up stays offline beyond the npm registry.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm dependencies (npm ci; its install step builds the native addon)"
  ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}" npm ci --no-audit --no-fund --foreground-scripts >&2
fi

log "native addon"
node scripts/build-addon.mjs

log "TypeScript (tsc)"
npx tsc -p tsconfig.json >&2

PY="${BERT_SERVE_PYTHON:-/usr/bin/python3}"
if [ ! -f models/demo/model.pt ] || [ scripts/make_demo_model.py -nt models/demo/model.pt ] || [ scripts/bert/modeling.py -nt models/demo/model.pt ]; then
  log "demo model (models/demo)"
  "$PY" scripts/make_demo_model.py models/demo >&2
fi
log "set-up done"
