#!/usr/bin/env bash
# Installs what apt must provide for bert-serve, and nothing when it is already there.
# Idempotent: a second run only checks dpkg and exits. Called by `npm start` and `npm test`.
set -euo pipefail

PKGS=(
  libtorch-dev          # CPU libtorch 1.13 (headers, CMake config, shared libs)
  python3-torch         # model export / demo model / reference checks (/usr/bin/python3)
  libopenblas0-openmp   # without it torch's linear layers use the reference BLAS (~36x slower)
  libutf8proc-dev       # Unicode tables for the tokenizer (categories, NFD, case mapping)
  nlohmann-json3-dev    # JSON parsing of config.json / tokenizer.json in the engine
  cmake ninja-build g++ make pkg-config
  clang-14 libclang-rt-14-dev  # libFuzzer + sanitizers for the fuzz targets (test/unit/native-fuzz.test.mjs)
  wrk                   # HTTP load generator used by bench/
)

missing=()
for p in "${PKGS[@]}"; do
  # dpkg-query prints "install ok installed" only for a fully installed package.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "[bert-serve] installing system packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
