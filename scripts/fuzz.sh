#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of native/tests/fuzz (no libtorch needed). docs/fuzzing.md.
#
#   scripts/fuzz.sh build                   build the targets into build-fuzz/
#   scripts/fuzz.sh TARGET SECONDS          fuzz one target for SECONDS
#   scripts/fuzz.sh TARGET --runs N         fuzz one target for N inputs
#   scripts/fuzz.sh replay                  run every regression input once (native/tests/fuzz/regressions)
#   scripts/fuzz.sh ci [SECONDS]            build, replay, then each target for SECONDS (default
#                                           $BERT_SERVE_FUZZ_SECONDS or 15); non-zero on any finding
# TARGET: tokenizer_fuzz (BERT), tokenizer_bpe_fuzz, tokenizer_unigram_fuzz,
# tokenizer_wordpiece_roberta_fuzz (the tokenizer.json kinds), tokenizer_files_fuzz, model_config_fuzz.
# Extra arguments after the SECONDS / N go to libFuzzer. Findings are written to build-fuzz/artifacts/.
# Environment: CC/CXX (default clang-14/clang++-14), BERT_SERVE_SHARED_DATA (default: the copy in
# test/data/shared), BERT_SERVE_TOKENIZER_FIXTURES (default models/test/tokenizers, made if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
B="$ROOT/build-fuzz"
TARGETS=(tokenizer_fuzz tokenizer_bpe_fuzz tokenizer_unigram_fuzz tokenizer_wordpiece_roberta_fuzz tokenizer_files_fuzz model_config_fuzz)
log() { printf '[fuzz] %s\n' "$*" >&2; }

pick() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 && { echo "$c"; return; }; done; }
CC="${CC:-$(pick clang-14 clang)}"
CXX="${CXX:-$(pick clang++-14 clang++)}"
if [ -z "${BERT_SERVE_SHARED_DATA:-}" ]; then
  if [ -f ../shared/data/bert-base-uncased-tokenizer.json ]; then BERT_SERVE_SHARED_DATA="$(cd ../shared/data && pwd)"
  else BERT_SERVE_SHARED_DATA="$ROOT/test/data/shared"; fi
fi
export BERT_SERVE_SHARED_DATA
export BERT_SERVE_TOKENIZER_FIXTURES="${BERT_SERVE_TOKENIZER_FIXTURES:-$ROOT/models/test/tokenizers}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

build() {
  if [ -z "$CXX" ] || [ -z "$CC" ]; then log "clang not found (apt-get install clang-14 libclang-rt-14-dev)"; exit 2; fi
  local gen=() cache=()
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  # Through ccache when it is installed, keyed as scripts/build-addon.mjs keys the addon's compiles
  # (paths relative to the checkout): a clean clone on a machine that built these before compiles
  # nothing again (the sanitized build is about a minute of 2 cores from scratch).
  if [ "${BERT_SERVE_CCACHE:-1}" != 0 ] && command -v ccache >/dev/null 2>&1; then
    cache=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
  fi
  [ -f "$B/CMakeCache.txt" ] || cmake -S native/tests/fuzz -B "$B" "${gen[@]}" "${cache[@]}" -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" >&2
  cmake --build "$B" --parallel "$(nproc)" >&2
  # The tokenizer.json kinds fuzz the real fixtures (made once; the script skips what is up to date).
  node scripts/make_tokenizer_fixtures.mjs "$BERT_SERVE_TOKENIZER_FIXTURES" >&2
  if [ ! -f "$B/seeds/.stamp" ] || [ scripts/fuzz_seeds.py -nt "$B/seeds/.stamp" ]; then
    rm -rf "$B/seeds"
    python3 scripts/fuzz_seeds.py "$BERT_SERVE_SHARED_DATA" "$B/seeds"
    touch "$B/seeds/.stamp"
  fi
}

max_len() { case "$1" in tokenizer_files_fuzz) echo 16384 ;; model_config_fuzz) echo 8192 ;; *) echo 4096 ;; esac; }

run() {  # TARGET LIMIT-FLAG [libFuzzer args...]
  local t="$1" limit="$2"; shift 2
  local dict=()
  case "$t" in tokenizer_files_fuzz | model_config_fuzz) dict=(-dict="$ROOT/native/tests/fuzz/json.dict") ;; esac
  mkdir -p "$B/corpus/$t" "$B/artifacts"
  # The first corpus directory receives new inputs; the seeds are read only.
  "$B/$t" "$limit" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$B/artifacts/$t-" "${dict[@]}" "$@" "$B/corpus/$t" "$B/seeds/$t"
}

replay() {
  local t inputs out
  for t in "${TARGETS[@]}"; do
    inputs=("$ROOT/native/tests/fuzz/regressions/$t"/*)
    [ -e "${inputs[0]}" ] || continue
    log "replaying ${#inputs[@]} regression input(s) of $t"
    if ! out="$("$B/$t" -runs=1 "${inputs[@]}" 2>&1)"; then
      printf '%s\n' "$out" >&2
      log "$t FAILED on a regression input"
      return 1
    fi
  done
}

case "${1:-}" in
  build) build ;;
  replay) build; replay ;;
  ci)
    secs="${2:-${BERT_SERVE_FUZZ_SECONDS:-15}}"
    build
    replay
    for t in "${TARGETS[@]}"; do
      log "$t: $secs s"
      run "$t" -max_total_time="$secs" 2>&1 | tail -n 12 >&2 || { log "$t FOUND A CRASH (build-fuzz/artifacts/)"; exit 1; }
    done
    log "ok" ;;
  tokenizer_fuzz | tokenizer_bpe_fuzz | tokenizer_unigram_fuzz | tokenizer_wordpiece_roberta_fuzz | tokenizer_files_fuzz | model_config_fuzz)
    t="$1"; shift
    [ $# -ge 1 ] || { log "usage: $0 $t SECONDS|--runs N [libFuzzer args]"; exit 2; }
    build
    if [ "$1" = --runs ]; then n="$2"; shift 2; run "$t" -runs="$n" "$@"
    else s="$1"; shift; run "$t" -max_total_time="$s" "$@"; fi ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
