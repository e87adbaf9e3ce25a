#!/usr/bin/env bash
# Installs what is missing, builds Ember, and runs its tests.
#   scripts/test.sh            every suite below in turn (what CI runs; under 30 min on 2 cores)
#   scripts/test.sh release    g++ release build in build/release: every unit, example and packaging test
#   scripts/test.sh asan       clang 14 with AddressSanitizer + UBSan in build/asan: the unit tests, and
#                              each libFuzzer target for a fixed number of executions on its seed corpus
#   scripts/test.sh tsan       g++ with ThreadSanitizer in build/tsan: the thread-safety tests
#   scripts/test.sh debug      unoptimised g++ build in build/debug
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("${@:-all}")
if [[ "${presets[*]}" == all ]]; then presets=(release asan tsan); fi
for p in "${presets[@]}"; do
  if [[ "$p" == asan ]]; then export EMBER_WITH_CLANG=1; fi
done
scripts/setup.sh
for p in "${presets[@]}"; do
  echo "== test.sh: $p" >&2
  cmake --preset "$p" >/dev/null
  cmake --build --preset "$p" -j "$(nproc)"
  ctest --preset "$p"
done
