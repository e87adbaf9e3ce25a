#!/usr/bin/env bash
# Installs what Ember needs to build and test, if missing: Debian packages
# through apt-get (as root, or through sudo). Safe to run again.
set -euo pipefail

# scripts/setup.sh demo: only what building the library and training an example
# needs (scripts/demo.sh); scripts/setup.sh: everything the tests use as well.
packages=(cmake g++ make libfmt-dev libdnnl-dev ocl-icd-opencl-dev zlib1g-dev)
packages+=(libpng-dev libjpeg-dev)  # io/image reads PNG (libpng) and JPEG (libjpeg-turbo), writes PNG
if [[ "${1:-all}" != demo ]]; then
  packages+=(libgtest-dev libbenchmark-dev)  # the unit tests and the benchmarks
  packages+=(python3-statsmodels)  # examples/forecast and tabular read its CSV files in their tests
  packages+=(libcpp-httplib-dev python3 python3-selenium chromium chromium-driver)  # digit_server and its browser test
  packages+=(libopenmpi-dev openmpi-bin)  # dist/ (MPI collectives, DDP) and its mpirun tests
  # protoc + python3-protobuf decode the event files in a test; Chromium, its driver and
  # selenium render the run-comparison page (and its PNG).
  packages+=(protobuf-compiler python3-protobuf)
fi
# Only for regenerating reference values and side-by-side comparisons:
if [[ "${EMBER_WITH_TORCH:-0}" == 1 ]]; then packages+=(python3-torch libopenblas0-openmp); fi
# The asan suite and the fuzz targets: clang 14 with its sanitizer and libFuzzer
# runtimes, and its OpenMP runtime (clang does not use GCC's libgomp).
if [[ "${EMBER_WITH_CLANG:-0}" == 1 ]]; then packages+=(clang-14 libclang-rt-14-dev libomp-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then exit 0; fi

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
