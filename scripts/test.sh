#!/usr/bin/env bash
# The test command's body (after scripts/setup.sh): test model fixtures with lint and format checks beside them, C++
# engine tests (ctest), then the JS tests (tap files through scripts/run-tests.mjs: unit, integration, e2e, gpu, the
# long tier test/long, and the HTTP tests again on the uWebSockets.js transport and on Node 22 and 24 as
# scripts/test-http.sh lists them; two files at a time, then the timing-sensitive files one at a time). GPU tests
# skip themselves without CUDA.
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

# Work that nothing before the JS tests reads runs in the background, each in its own process group
# (setsid: an early exit stops it and what it started), its output shown and its failure failing
# the run at the stage that waits for it (wait_bg):
#   - the tokenizer files of every kind (RoBERTa BPE from GPT-2's files, an XLM-R Unigram trained
#     here, MPNet), for the tokenizer's differential and fuzz tests: mostly sentencepiece's Unigram
#     training (about 100 s; seconds where this machine's cache holds the model, see
#     scripts/make_unigram_fixture.py);
#   - lint and format (ESLint's type-checked run is ~50 s of one core; the Python model making
#     beside it is mostly one core too);
#   - Node 22 and 24 for the HTTP re-runs (scripts/test-http.sh --list installs them once).
BG_DIR="$(mktemp -d)"
declare -A BG_PID BG_AT
bg() {
  local name="$1"
  shift
  BG_AT[$name]=$(date +%s)
  setsid "$@" > "$BG_DIR/$name" 2>&1 &
  BG_PID[$name]=$!
}
wait_bg() {
  local name="$1" status=0
  wait "${BG_PID[$name]}" || status=$?
  cat "$BG_DIR/$name" >&2
  echo "[$name] its last line came $(($(stat -c %Y "$BG_DIR/$name") - BG_AT[$name])) s after it started in the background" >&2
  [ "$status" = 0 ] || { echo "scripts/test.sh: $name failed ($status)" >&2; exit 1; }
}
stop_bg() {
  local pid
  for pid in "${BG_PID[@]}"; do kill -- "-$pid" 2> /dev/null || true; done
  rm -rf "$BG_DIR"
}
trap 'stage_summary; stop_bg' EXIT
bg tokenizer-fixtures env BERT_SERVE_PYTHON="$PY" node scripts/make_tokenizer_fixtures.mjs models/test/tokenizers
bg lint bash scripts/lint.sh
bg http-jobs bash scripts/test-http.sh --list "$BG_DIR/http-jobs.list"

stage "making test models (models/test), lint and the tokenizer files in the background"
"$PY" scripts/make_test_models.py models/test >&2
# The zoo: one model per way users save theirs, with the eager reference's answers (docs/models.md).
stage "making the model zoo (models/zoo)"
"$PY" scripts/make_zoo.py models/zoo >&2
stage "lint and format (scripts/lint.sh): waiting for the rest of the background run"
wait_bg lint
stage "tokenizer fixtures (models/test/tokenizers): waiting for the rest of the background run"
wait_bg tokenizer-fixtures

stage "C++ engine tests (ctest)"
ctest --test-dir build --output-on-failure --timeout 600

# The JS tests of every tier (test/unit, integration, e2e, gpu, then the long tier test/long: runs
# bounded by a fixed count or time budget each) and the HTTP re-runs on the other transport and
# Node versions (scripts/test-http.sh --list), through scripts/run-tests.mjs: each file its own
# `node` process, longest first. First two files at a time: most files wait (on spawned servers,
# timeouts, queued batches, Python exports) more than they compute. Then the files whose assertions
# ride on timing (SERIAL: deadlines, drain and send timeouts, clients that never read, a flood), one
# at a time, so that no neighbour's load can fail them, with only the files that compute little
# (BESIDE: a fake engine, waiting out connection timeouts) beside them, one at a time too.
# docs/testing.md has the times.
SERIAL=(
  test/unit/admission.test.mjs          # queue deadlines; a stalled head waited out to its 10 s bound
  test/e2e/http-admission.test.mjs      # 429/503/504 at their deadlines, hang-ups mid-inference
  test/e2e/http-hanging.test.mjs        # a hung batch trips a 400 ms request deadline
  test/e2e/http-answer-size.test.mjs    # non-reading clients cut off at --send-timeout-ms
  test/e2e/cli-shutdown.test.mjs        # drain on SIGTERM within the drain timeout
  test/e2e/http-model-control.test.mjs  # a reload switches while a hung request still holds the old version
  test/e2e/http-fair-sharing.test.mjs   # a flood on one model (two cores of it) beside the other's requests
  test/long/nonreaders.test.mjs         # clients that never read, against the send timeout
)
BESIDE=(
  test/unit/hostile-http.test.mjs       # a fake engine; on uWS it waits out idle timeouts (~40 s)
  test/long/slow-upload.test.mjs        # a fake engine; two uploads at 3.4x the minimum rate, ~20 s
)
for f in "${SERIAL[@]}" "${BESIDE[@]}"; do
  [ -f "$f" ] || { echo "scripts/test.sh: $f (in SERIAL or BESIDE) is missing" >&2; exit 1; }
done
# Whether a job (a file after its environment) runs a file of the list named $1.
in_list() {
  local -n list="$1"
  [[ " ${list[*]} " == *" ${2##* } "* ]]
}
stage "HTTP re-runs' jobs (scripts/test-http.sh --list, Node 22 and 24 installed): waiting for the background run"
wait_bg http-jobs
PARALLEL_JOBS=()
SERIAL_JOBS=()
BESIDE_JOBS=()
mapfile -t HTTP_JOBS < "$BG_DIR/http-jobs.list"
for job in test/unit/*.test.mjs test/integration/*.test.mjs test/e2e/*.test.mjs test/gpu/*.test.mjs test/long/*.test.mjs "${HTTP_JOBS[@]}"; do
  if in_list SERIAL "$job"; then
    SERIAL_JOBS+=("$job")
  elif in_list BESIDE "$job"; then
    BESIDE_JOBS+=("$job")
  else
    PARALLEL_JOBS+=("$job")
  fi
done

stage "JS tests, two files at a time (${#PARALLEL_JOBS[@]} files of test/unit, integration, e2e, gpu, long and HTTP re-runs)"
node scripts/run-tests.mjs --jobs 2 "${PARALLEL_JOBS[@]}"

stage "JS tests: the ${#SERIAL_JOBS[@]} timing-sensitive ones one at a time, the ${#BESIDE_JOBS[@]} light ones beside them"
node scripts/run-tests.mjs --jobs 1 "${SERIAL_JOBS[@]}" --beside --jobs 1 "${BESIDE_JOBS[@]}"
