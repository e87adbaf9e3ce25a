#!/bin/sh
# A rank that fails must end the whole job, with a message naming it, within
# a bound (issue 16). Usage: failure_check.sh MODE MPIRUN PROGRAM MNIST_DIR
#   MODE kill:  rank 1 is killed (SIGKILL) at step 2;
#        throw: rank 1 throws an uncaught ember::Error at step 2;
#        hang:  rank 1 sleeps at step 2; rank 0 times out (EMBER_DIST_TIMEOUT=3).
set -u
mode=$1 mpirun=$2 prog=$3 data=$4
bound=60
out=$(mktemp)
start=$(date +%s)
EMBER_DIST_TIMEOUT=3 timeout -k 10 $((bound + 30)) "$mpirun" --allow-run-as-root --oversubscribe -np 2 \
  -x EMBER_DIST_TIMEOUT -x OMP_NUM_THREADS=1 \
  "$prog" --data "$data" --limit 640 --fail "$mode" --fail-rank 1 --fail-step 2 >"$out" 2>&1
rc=$?
elapsed=$(( $(date +%s) - start ))
cat "$out"
echo "--- exit code $rc after ${elapsed}s"
fail() { echo "FAIL: $*"; rm -f "$out"; exit 1; }
[ "$rc" -ne 0 ] || fail "the job reported success"
[ "$rc" -ne 124 ] || fail "the job hung and was stopped by the test's timeout"
[ "$elapsed" -le "$bound" ] || fail "the job took ${elapsed}s, more than ${bound}s"
case $mode in
  kill) pattern='rank 1 with PID .* on node .* exited on signal 9' ;;
  throw) pattern='ember.dist: rank 1 of 2 failed: uncaught exception: a deliberate failure at step 2' ;;
  hang) pattern='ember.dist: rank 0 of 2 failed: uncaught exception: dist: .* timed out after 3.0 s on rank 0 of 2' ;;
esac
grep -q "$pattern" "$out" || fail "no line matching: $pattern"
echo "OK: the $mode failure ended the job in ${elapsed}s"
rm -f "$out"
