#!/usr/bin/env bash
# Installs what is missing, fetches MNIST (verified), builds Ember and trains
# the main example, printing the test accuracy. Extra arguments go to the
# example, e.g. scripts/demo.sh --epochs 2, or EXAMPLE=mnist_cnn scripts/demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
example="${EXAMPLE:-mnist_mlp}"
scripts/setup.sh demo  # the compiler, CMake and the libraries the examples link; not the test tools
scripts/fetch_mnist.sh build/mnist
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target "$example"
exec "build/release/examples/$example" --data build/mnist "$@"
