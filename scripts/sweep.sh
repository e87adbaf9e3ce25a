#!/usr/bin/env bash
# Our user's experiment in one command: mnist_mlp trained over a grid of
#   optimizer {momentum (SGD, 0.9), adam, rmsprop} x lr {1e-3, 1e-2, 1e-1} x dropout {0, 0.2}
# two runs at a time with one thread each, each logging to LOGDIR/<optimizer>_lr<lr>_do<dropout>
# (TensorBoard event files, metrics.csv, hparams.json); then scripts/compare_runs
# writes LOGDIR/index.html and LOGDIR/accuracy.png.
#
#   scripts/sweep.sh [LOGDIR]        (default runs/sweep)
#   EPOCHS=3 LIMIT=0 JOBS=2 scripts/sweep.sh
# Extra settings: MNIST_MLP (the binary), DATA (the MNIST folder), BATCH (batch size).
# On the shared build machine, wrap it: flock /tmp/ember-cpu.lock scripts/sweep.sh
set -euo pipefail
cd "$(dirname "$0")/.."
logdir="${1:-runs/sweep}"
epochs="${EPOCHS:-3}"
limit="${LIMIT:-0}"
jobs="${JOBS:-2}"
batch="${BATCH:-64}"
bin="${MNIST_MLP:-build/release/examples/mnist_mlp}"
data="${DATA:-build/mnist}"
[[ -x "$bin" ]] || { echo "sweep: $bin not built (cmake --build --preset release --target mnist_mlp)" >&2; exit 1; }
[[ -d "$data" ]] || { echo "sweep: no MNIST in $data (scripts/fetch_mnist.sh $data)" >&2; exit 1; }
mkdir -p "$logdir"

grid=()
for opt in momentum adam rmsprop; do
  for lr in 0.001 0.01 0.1; do
    for dropout in 0 0.2; do grid+=("$opt $lr $dropout"); done
  done
done

run_one() {
  local opt=$1 lr=$2 dropout=$3
  local name="${opt}_lr${lr}_do${dropout}"
  local start=$SECONDS
  rm -rf "${logdir:?}/$name"
  if OMP_NUM_THREADS=1 EMBER_LOAD_GUARD=0 "$bin" --data "$data" --optimizer "$opt" --lr "$lr" --dropout "$dropout" \
       --epochs "$epochs" --limit "$limit" --batch-size "$batch" --threads 1 --logdir "$logdir/$name" \
       > "$logdir/$name.log" 2>&1; then
    echo "sweep: $name done in $((SECONDS - start)) s: $(grep -E 'test accuracy' "$logdir/$name.log" | tail -1)"
  else
    echo "sweep: $name FAILED (see $logdir/$name.log)" >&2
    return 1
  fi
}
export -f run_one
export logdir epochs limit batch bin data

start=$SECONDS
status=0
printf '%s\n' "${grid[@]}" | xargs -P "$jobs" -L 1 bash -c 'run_one $0 $1 $2' || status=1
echo "sweep: ${#grid[@]} runs, $jobs at a time, in $((SECONDS - start)) s"
scripts/compare_runs "$logdir"
exit $status
