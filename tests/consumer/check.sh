#!/usr/bin/env bash
# Usage: check.sh SOURCE_DIR BUILD_DIR WORK_DIR
# 1. cmake --install the built Ember into WORK_DIR/prefix, build the consumer with find_package(ember),
#    and every C++ block of the README as a program (readme_snippets.py): each must compile and link.
# 2. Configure the consumer with add_subdirectory(SOURCE_DIR) and compile it (EMBER_PACKAGING_FULL=1: build and run it).
set -euo pipefail
src=$1 build=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
python3 "$src/tests/consumer/readme_snippets.py" "$src/README.md" "$src/tests/consumer/snippet_contexts.cpp" "$work/snippets" >/dev/null
cmake -S "$src/tests/consumer" -B "$work/installed" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release \
      -DEMBER_SNIPPET_DIR="$work/snippets" >/dev/null
cmake --build "$work/installed" -j 2 >"$work/installed.log" 2>&1 || { grep -B2 -A8 -E 'error|undefined' "$work/installed.log" | head -60; exit 1; }
echo "the README's $(ls "$work/snippets" | wc -l) C++ blocks compile and link against the installed package"
"$work/installed/consumer"
# add_subdirectory: configure, then compile the consumer against ember::ember's usage requirements (include
# paths, C++20, definitions). Compiling Ember's own sources a second time (unoptimised, about 3 of CI's 30
# minutes on 2 cores) and running the program happen with EMBER_PACKAGING_FULL=1.
cmake -S "$src/tests/consumer" -B "$work/subdir" -DEMBER_SOURCE_DIR="$src" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O0 >/dev/null
if [[ "${EMBER_PACKAGING_FULL:-0}" == 1 ]]; then
  cmake --build "$work/subdir" -j 2 >/dev/null
  "$work/subdir/consumer"
  echo "find_package and add_subdirectory consumers both work"
else
  make -C "$work/subdir" main.cpp.o >/dev/null  # the Makefile generator's single-object rule
  echo "the find_package consumer works; the add_subdirectory consumer configures and compiles (EMBER_PACKAGING_FULL=1 also builds and runs it)"
fi
