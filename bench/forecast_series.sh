#!/bin/sh
# examples/forecast on the series python3-statsmodels ships (issue 14): the two the
# issue names, with their documented flags, and others it did not tune on (short,
# noisy, trending). Prints each run's kept-epochs line and its table.
#   bench/forecast_series.sh [build/release/examples/forecast]
set -e
bin=${1:-build/release/examples/forecast}
d=${STATSMODELS_DATASETS:-/usr/lib/python3/dist-packages/statsmodels/datasets}
out=${TMPDIR:-/tmp}/forecast_series
mkdir -p "$out"
run() {
  name=$1; shift
  echo "== $name: $*"
  flock /tmp/ember-cpu.lock "$bin" --threads 1 --chart "$out/$name.svg" "$@" | grep -v '^chart:'
}
run sunspots --csv "$d/sunspots/sunspots.csv" --column SUNACTIVITY --time-column YEAR --window 12
run co2 --csv "$d/co2/co2.csv" --column co2 --time-column date --window 52 --epochs 60
run nile --csv "$d/nile/nile.csv" --column volume --time-column year --window 5
run realgdp --csv "$d/macrodata/macrodata.csv" --column realgdp --window 8
run cpi --csv "$d/macrodata/macrodata.csv" --column cpi --window 8
run unemp --csv "$d/macrodata/macrodata.csv" --column unemp --window 8
