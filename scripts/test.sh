#!/usr/bin/env bash
# The test command's body (after scripts/setup.sh): lint and format checks, test model fixtures, C++ engine tests (ctest),
# then the JS tests (tap: unit, integration, e2e, then the long tier test/long), then the HTTP tests again on the uWebSockets.js
# transport and on Node 22 and 24 (scripts/test-http.sh). GPU tests skip themselves without CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every stage line carries the seconds since this script started and the UTC time, and the stage
# durations are listed again at the end (also when a stage fails), so every CI log shows where the
# time went (docs/testing.md keeps the measured figures).
T0=$SECONDS
STAGE=""
STAGE_AT=$SECONDS
STAGE_TIMES=()
stage() {
  [ -z "$STAGE" ] || STAGE_TIMES+=("$((SECONDS - STAGE_AT))s	$STAGE")
  STAGE="$1"
  STAGE_AT=$SECONDS
  printf '[bert-serve test %ss %s] %s\n' "$((SECONDS - T0))" "$(date -u +%H:%M:%S)" "$1"
}
stage_summary() {
  local status=$?
  [ -z "$STAGE" ] || STAGE_TIMES+=("$((SECONDS - STAGE_AT))s	$STAGE$([ "$status" = 0 ] || echo ' (failed)')")
  printf '[bert-serve test %ss] stage times:\n' "$((SECONDS - T0))"
  printf '  %s\n' "${STAGE_TIMES[@]}"
}
trap stage_summary EXIT
PY="${BERT_SERVE_PYTHON:-/usr/bin/python3}"
# Real BERT vocabularies and golden tokenizer vectors: the workspace's ../shared/data when it is
# there, else the copy in test/data/shared (a clean clone elsewhere has no ../shared).
if [ -z "${BERT_SERVE_SHARED_DATA:-}" ]; then
  if [ -f ../shared/data/wordpiece-golden-uncased-hf.jsonl ]; then
    BERT_SERVE_SHARED_DATA="$(cd ../shared/data && pwd)"
  else
    BERT_SERVE_SHARED_DATA="$(pwd)/test/data/shared"
  fi
fi
export BERT_SERVE_SHARED_DATA
echo "[bert-serve test] shared data: $BERT_SERVE_SHARED_DATA" >&2

stage "system packages for the tests (scripts/install-system-deps.sh --test)"

# The fuzz targets' bounded run (test/long/native-fuzz.test.mjs) needs clang with libFuzzer; the
# /docs browser test (test/e2e/http-docs-browser.test.mjs) needs chromium.
bash scripts/install-system-deps.sh --test

stage "lint and format (scripts/lint.sh)"
bash scripts/lint.sh

stage "making test models (models/test)"
"$PY" scripts/make_test_models.py models/test >&2
# The zoo: one model per way users save theirs, with the eager reference's answers (docs/models.md).
stage "making the model zoo (models/zoo)"
"$PY" scripts/make_zoo.py models/zoo >&2
# Real tokenizers of every kind (RoBERTa BPE from GPT-2's files, an XLM-R Unigram trained here,
# MPNet), for the tokenizer's differential and fuzz tests.
stage "making tokenizer fixtures (models/test/tokenizers)"
BERT_SERVE_PYTHON="$PY" node scripts/make_tokenizer_fixtures.mjs models/test/tokenizers >&2

stage "C++ engine tests (ctest)"
ctest --test-dir build --output-on-failure --timeout 600

stage "JS tests (tap)"
npx tap --disable-coverage --timeout 600 --jobs 1 "test/unit/*.test.mjs" "test/integration/*.test.mjs" "test/e2e/*.test.mjs" "test/gpu/*.test.mjs"

# The long tier: runs bounded by a fixed count or time budget each (large differential runs,
# generated models, fuzzing), kept apart so the quicker tiers stay quick to run on their own.
if compgen -G "test/long/*.test.mjs" > /dev/null; then
  stage "long tier (tap, test/long)"
  npx tap --disable-coverage --timeout 900 --jobs 1 "test/long/*.test.mjs"
fi

stage "HTTP tests on uWebSockets.js (Node 20) and on Node 22 and 24 (scripts/test-http.sh)"
bash scripts/test-http.sh
