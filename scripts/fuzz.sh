#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-16 and runs each for N seconds,
# starting from (and adding to a scratch copy of) its corpus in tests/fuzz/corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DQUARRY_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc)"
for bin in build-fuzz/bin/fuzz_*; do
  name=$(basename "$bin"); name=${name#fuzz_}
  work=build-fuzz/corpus/$name
  mkdir -p "$work"
  echo "== fuzz $name for ${SECONDS_EACH}s"
  "$bin" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 "$work" "tests/fuzz/corpus/$name"
done
