#!/usr/bin/env bash
# A longer fuzzing run: builds the asan preset (clang 14, ASan + UBSan,
# libFuzzer) and runs each target for SECONDS (default 600) in turn,
# starting from its committed seed corpus plus what earlier runs found.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: EMBER_FUZZ_TARGETS in tests/fuzz/CMakeLists.txt (all by default)
# New inputs collect in build/asan/tests/fuzz/found/<target>; a crash is
# written to build/asan/tests/fuzz/crash-<target>-* and stops that target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true
# Every target CMake builds, so a new reader's target is not left out here.
all=$(sed -n 's/^set(EMBER_FUZZ_TARGETS \([^)]*\)).*/\1/p' tests/fuzz/CMakeLists.txt)
targets=("${@:-$all}")
read -r -a targets <<<"${targets[*]}"
((${#targets[@]} > 0)) || { echo "fuzz.sh: no targets found in tests/fuzz/CMakeLists.txt" >&2; exit 1; }
EMBER_WITH_CLANG=1 scripts/setup.sh
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$(nproc)" --target $(printf 'ember_fuzz_%s ' "${targets[@]}")
out=build/asan/tests/fuzz
for t in "${targets[@]}"; do
  mkdir -p "$out/found/$t"
  echo "== fuzz.sh: $t for ${seconds}s" >&2
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 "$out/ember_fuzz_$t" -max_total_time="$seconds" \
    -timeout=20 -rss_limit_mb=2560 -malloc_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/crash-$t-" "$out/found/$t" "tests/fuzz/corpus/$t" 2>&1 | grep -E "stat::number_of_executed_units|ERROR|SUMMARY" || true
done
