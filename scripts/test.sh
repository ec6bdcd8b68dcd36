#!/usr/bin/env bash
# The test command's body (after scripts/setup.sh): lint and format checks, test model fixtures, C++ engine tests (ctest),
# then the JS tests (tap: unit, integration, e2e, gpu and the long tier test/long, two files at a time, then the
# timing-sensitive files one at a time), then the HTTP tests again on the uWebSockets.js
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

# Real tokenizers of every kind (RoBERTa BPE from GPT-2's files, an XLM-R Unigram trained here,
# MPNet), for the tokenizer's differential and fuzz tests. Made in the background while lint and
# the test models run (nothing there reads them): most of it is sentencepiece's Unigram training
# (about 100 s). Its output is shown, and its failure fails the run, at the stage that waits for it.
FIXTURES_LOG="$(mktemp)"
FIXTURES_AT="$(date +%s)"
# setsid: its own process group, so that an early exit stops it and the Python it runs.
BERT_SERVE_PYTHON="$PY" setsid node scripts/make_tokenizer_fixtures.mjs models/test/tokenizers > "$FIXTURES_LOG" 2>&1 &
FIXTURES_PID=$!
trap 'stage_summary; kill -- "-$FIXTURES_PID" 2> /dev/null || true; rm -f "$FIXTURES_LOG"' EXIT

stage "lint and format (scripts/lint.sh)"
bash scripts/lint.sh

stage "making test models (models/test)"
"$PY" scripts/make_test_models.py models/test >&2
# The zoo: one model per way users save theirs, with the eager reference's answers (docs/models.md).
stage "making the model zoo (models/zoo)"
"$PY" scripts/make_zoo.py models/zoo >&2
stage "tokenizer fixtures (models/test/tokenizers): waiting for the rest of the background run"
fixtures_status=0
wait "$FIXTURES_PID" || fixtures_status=$?
cat "$FIXTURES_LOG" >&2
echo "[tokenizer fixtures] made in $(($(stat -c %Y "$FIXTURES_LOG") - FIXTURES_AT)) s, in the background since the lint stage" >&2
[ "$fixtures_status" = 0 ] || { echo "scripts/test.sh: making the tokenizer fixtures failed ($fixtures_status)" >&2; exit 1; }

stage "C++ engine tests (ctest)"
ctest --test-dir build --output-on-failure --timeout 600

# The JS tests of every tier (test/unit, integration, e2e, gpu, then the long tier test/long: runs
# bounded by a fixed count or time budget each), in two tap runs. First two files at a time: most
# files wait (on spawned servers, timeouts, queued batches, Python exports) more than they compute.
# Then, one at a time, the files whose assertions ride on timing (SERIAL: deadlines, minimum upload
# rates, drain and send timeouts, clients that never read), so a neighbour's load cannot fail them.
# docs/testing.md has the times of both.
SERIAL=(
  test/unit/admission.test.mjs          # queue deadlines; a stalled head waited out to its 10 s bound
  test/unit/hostile-http.test.mjs       # a body under the minimum upload rate gets 408
  test/e2e/http-admission.test.mjs      # 429/503/504 at their deadlines, hang-ups mid-inference
  test/e2e/http-hanging.test.mjs        # a hung batch trips a 400 ms request deadline
  test/e2e/http-answer-size.test.mjs    # non-reading clients cut off at --send-timeout-ms
  test/e2e/cli-shutdown.test.mjs        # drain on SIGTERM within the drain timeout
  test/e2e/http-model-control.test.mjs  # a reload switches while a hung request still holds the old version
  test/e2e/http-fair-sharing.test.mjs   # a flood on one model (two cores of it) beside the other's requests
  test/long/nonreaders.test.mjs         # clients that never read, against the send timeout
  test/long/slow-upload.test.mjs        # slow uploads against the minimum rate
)
PARALLEL=()
for f in test/unit/*.test.mjs test/integration/*.test.mjs test/e2e/*.test.mjs test/gpu/*.test.mjs test/long/*.test.mjs; do
  [[ " ${SERIAL[*]} " == *" $f "* ]] || PARALLEL+=("$f")
done
for f in "${SERIAL[@]}"; do
  [ -f "$f" ] || { echo "scripts/test.sh: $f (in SERIAL) is missing" >&2; exit 1; }
done

stage "JS tests, two files at a time (tap --jobs 2: ${#PARALLEL[@]} files of test/unit, integration, e2e, gpu, long)"
npx tap --disable-coverage --timeout 900 --jobs 2 "${PARALLEL[@]}"

stage "JS tests, one file at a time (tap --jobs 1: the ${#SERIAL[@]} timing-sensitive files)"
npx tap --disable-coverage --timeout 900 --jobs 1 "${SERIAL[@]}"

stage "HTTP tests on uWebSockets.js (Node 20) and on Node 22 and 24 (scripts/test-http.sh)"
bash scripts/test-http.sh
