#!/usr/bin/env bash
# Lint and format check (`npm run lint`; scripts/test.sh runs it before the tests, so CI fails on
# either): ESLint over the TypeScript and JavaScript (eslint.config.js), prettier for their format
# (.prettierrc.json), clang-format-14 for the C++ (.clang-format). `npm run format` rewrites the files
# instead of checking them. The files are the ones git tracks, less what is generated
# (native/engine/text/unicode_tables.cc, written by scripts/gen-unicode-tables.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
fix=0
if [ "${1:-}" = "--fix" ]; then fix=1; fi

mapfile -t JS < <(git ls-files -- 'src/*.ts' '*.js' '*.mjs' '*.cjs' | grep -v '^test/long/corpus/')
mapfile -t CXX < <(git ls-files -- 'native/*.cc' 'native/*.h' | grep -vx 'native/engine/text/unicode_tables.cc')
CLANG_FORMAT="${CLANG_FORMAT:-clang-format-14}"
if ! command -v "$CLANG_FORMAT" > /dev/null; then
  echo "lint: $CLANG_FORMAT is missing: bash scripts/install-system-deps.sh --test installs it" >&2
  exit 2
fi

if [ "$fix" = 1 ]; then
  npx prettier --log-level warn --write "${JS[@]}"
  "$CLANG_FORMAT" -i "${CXX[@]}"
  npx eslint --fix .
  exit 0
fi
status=0
echo "[bert-serve lint] eslint" >&2
npx eslint . || status=1
echo "[bert-serve lint] prettier --check (${#JS[@]} files)" >&2
npx prettier --log-level warn --check "${JS[@]}" || { echo "lint: run npm run format" >&2; status=1; }
echo "[bert-serve lint] clang-format (${#CXX[@]} files)" >&2
"$CLANG_FORMAT" --dry-run --Werror "${CXX[@]}" || { echo "lint: run npm run format" >&2; status=1; }
exit "$status"
