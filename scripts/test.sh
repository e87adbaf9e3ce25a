#!/usr/bin/env bash
# Installs what is missing, builds Ember, and runs every test.
#   scripts/test.sh            release build in build/release
#   scripts/test.sh asan       AddressSanitizer + UBSan build in build/asan
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
scripts/setup.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset"
