#!/usr/bin/env bash
# Everything `npm start` and `npm test` need on a fresh Debian machine, idempotent and incremental:
# system packages (apt, only when missing), npm dependencies (only when the lockfile changed), the
# native addon (cmake-js, incremental), the TypeScript build, and the demo model (only once).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[bert-serve setup] %s\n' "$*" >&2; }

bash scripts/install-system-deps.sh

# npm ci when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund >&2
fi

log "building the native addon (cmake-js)"
npx cmake-js compile --out build --parallel "$(nproc)" -G Ninja --log-level warn >&2

log "building TypeScript"
npx tsc -p tsconfig.json >&2

PY="${BERT_SERVE_PYTHON:-/usr/bin/python3}"
if [ ! -f models/demo/model.pt ] || [ scripts/make_demo_model.py -nt models/demo/model.pt ] || [ scripts/bert/modeling.py -nt models/demo/model.pt ]; then
  log "making the demo model (models/demo)"
  "$PY" scripts/make_demo_model.py models/demo >&2
fi
