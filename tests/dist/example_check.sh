#!/bin/sh
# mnist_mlp / mnist_cnn --distributed under mpirun -np 2 (issue 16, item 4):
# one epoch on a small subset must print its epoch line once (rank 0 alone
# prints), reach a sane accuracy (all-reduced over the ranks' test shards),
# and save the model once; a global batch that 2 ranks cannot share is
# refused (with REFUSE=1), and the job ends rather than hangs.
# Usage: example_check.sh MPIRUN PROGRAM MNIST_DIR LIMIT MIN_ACCURACY WORKDIR [REFUSE]
set -u
mpirun=$1 prog=$2 data=$3 limit=$4 accuracy=$5 work=$6 refuse=${7:-0}
name=$(basename "$prog")
mkdir -p "$work"
out="$work/$name.out" model="$work/$name.safetensors"
rm -f "$model"
run() { timeout -k 10 120 "$mpirun" --allow-run-as-root --oversubscribe -np 2 -x OMP_NUM_THREADS=1 "$prog" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

run --distributed --data "$data" --limit "$limit" --epochs 1 --expect-accuracy "$accuracy" --save "$model" >"$out" 2>&1
rc=$?
cat "$out"
[ "$rc" -eq 0 ] || fail "exit code $rc (accuracy below $accuracy, or an error)"
# mpirun forwards stdout and stderr (the progress bar) separately, so lines may be joined: count matches, not lines.
count() { grep -o -- "$1" "$out" | wc -l; }
[ "$(count 'epoch  1/1  train loss')" -eq 1 ] || fail "the epoch line was printed $(count 'epoch  1/1  train loss') times, not once"
[ "$(count 'test accuracy [0-9.]*% after 1 epochs')" -eq 1 ] || fail "the final line was not printed once"
[ "$(count 'training samples, 1 threads x 2 ranks')" -eq 1 ] || fail "no single '1 threads x 2 ranks' header"
[ "$(count "saved $model")" -eq 1 ] || fail "the model was not saved once"
[ -s "$model" ] || fail "no model file at $model"
[ "$refuse" = 1 ] || { echo "OK: $name --distributed on 2 ranks"; exit 0; }

run --distributed --data "$data" --limit "$limit" --epochs 1 --batch-size 63 >"$out" 2>&1
rc=$?
cat "$out"
[ "$rc" -ne 0 ] || fail "--batch-size 63 on 2 ranks was accepted"
[ "$rc" -ne 124 ] || fail "--batch-size 63 on 2 ranks hung"
grep -q -- "--batch-size 63 does not divide among 2 ranks" "$out" || fail "no message about --batch-size 63"
echo "OK: $name --distributed on 2 ranks"
