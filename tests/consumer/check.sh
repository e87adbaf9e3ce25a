#!/usr/bin/env bash
# Usage: check.sh SOURCE_DIR BUILD_DIR WORK_DIR
# 1. cmake --install the built Ember into WORK_DIR/prefix, build the consumer with find_package(ember).
# 2. Build the consumer with add_subdirectory(SOURCE_DIR).
set -euo pipefail
src=$1 build=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/consumer" -B "$work/installed" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/installed" -j 2 >/dev/null
"$work/installed/consumer"
# Unoptimised: this build only shows that add_subdirectory works, and -O0 compiles Ember's sources in a
# fraction of the release build's time (CI's budget).
cmake -S "$src/tests/consumer" -B "$work/subdir" -DEMBER_SOURCE_DIR="$src" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O0 >/dev/null
cmake --build "$work/subdir" -j 2 >/dev/null
"$work/subdir/consumer"
echo "find_package and add_subdirectory consumers both work"
