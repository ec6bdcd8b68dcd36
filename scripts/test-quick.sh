#!/usr/bin/env bash
# The edit loop's test command (`npm run test:quick`): no apt, no npm ci; rebuilds the addon and the
# TypeScript only when stale and makes missing test models and tokenizer files, then runs the quick tier: the unit tests
# (pure, or a fake engine over real HTTP; not the Kubernetes manifests' check), the engine API on the real addon, model loading, and every
# route over real HTTP. Two files at a time: the longest ones wait (timeouts, queued batches) more than
# they compute, 60 s instead of 98 s on an idle 2-core machine once set up (`npm test` sets up).
# `npm test` stays the whole suite; `npx tap FILE` (or `node FILE`) runs any one file.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${BERT_SERVE_PYTHON:-/usr/bin/python3}"
if [ ! -d node_modules ]; then
  echo "test:quick: run \`npm test\` (or scripts/setup.sh) once first: node_modules is missing" >&2
  exit 2
fi
node scripts/build-addon.mjs
# tsc only when a source is newer than its last build (an up-to-date incremental tsc still costs
# 5-10 s here); tsconfig.json keeps its build record in dist/.tsbuildinfo.
if [ ! -f dist/.tsbuildinfo ] || [ -n "$(find src tsconfig.json -newer dist/.tsbuildinfo -print -quit)" ]; then
  npx tsc -p tsconfig.json
  touch dist/.tsbuildinfo
fi
"$PY" scripts/make_test_models.py models/test >&2
# The tokenizer files of every kind the unit tier's differential test reads (left alone when made).
BERT_SERVE_PYTHON="$PY" node scripts/make_tokenizer_fixtures.mjs models/test/tokenizers >&2
# test/unit but deploy-manifests (it compiles TypeScript twice to check deploy/kubernetes, ~15 s, and
# runs in `npm test`): the edit loop of the engine and the server does not touch the manifests.
UNIT=()
for f in test/unit/*.test.mjs; do
  [ "$f" = test/unit/deploy-manifests.test.mjs ] || UNIT+=("$f")
done
# Through scripts/run-tests.mjs as in `npm test`: node per file, longest first (tap's runner cost
# seconds per file more).
node scripts/run-tests.mjs --jobs 2 --timeout 300 "${UNIT[@]}" \
  test/integration/engine-api.test.mjs test/integration/model-loading.test.mjs test/e2e/http-routes.test.mjs
