#!/usr/bin/env bash
# Installs what is missing, builds Ember and runs the main example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target autograd_demo
build/release/examples/autograd_demo
