#!/usr/bin/env bash
# The README's test command: installs what is missing, builds the release and
# an ASan+UBSan build, and runs every test (unit, CLI goldens, fuzz-corpus replay,
# end-to-end with the real SDKs; the SDK suites under ASan+UBSan too).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

./scripts/setup.sh

echo "== release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DQUARRY_TESTS=ON >/dev/null
cmake --build build -j "$JOBS"
echo "== release tests"
ctest --test-dir build --output-on-failure -j "$JOBS"

echo "== ASan+UBSan build"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DQUARRY_SANITIZE=ON \
  -DQUARRY_BENCH=OFF >/dev/null
cmake --build build-asan -j "$JOBS"
echo "== ASan+UBSan tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$JOBS" -L 'unit|fuzz-replay|e2e-asan'
echo "== all tests passed"
