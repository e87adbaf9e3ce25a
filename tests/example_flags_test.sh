#!/usr/bin/env bash
# The examples refuse a bad command line before any work starts: each case
# below must exit 2 with a message naming the flag, with --data pointing at a
# folder that does not exist (so a message about MNIST means the check came
# too late). --help must list every flag with a default and a description.
#   tests/example_flags_test.sh BUILD/examples
set -uo pipefail
bin="$1"
fail=0
expect() {  # expect PROGRAM "MESSAGE" ARGS...
  local prog="$1" want="$2"
  shift 2
  local out code
  out=$("$bin/$prog" --data /nonexistent/mnist "$@" 2>&1)
  code=$?
  if [[ $code != 2 || "$out" != *"$want"* ]]; then
    echo "FAIL: $prog $*: exit $code, output: $out (wanted exit 2 and: $want)"
    fail=1
  fi
}
for prog in mnist_mlp mnist_cnn mnist_nielsen; do
  expect "$prog" "--epochs: 'abc' is not an integer" --epochs abc
  expect "$prog" "--epochs: -3 must be positive" --epochs -3
  expect "$prog" "--epochs: '1.5' is not an integer" --epochs 1.5
  expect "$prog" "--epochs: 0 must be positive" --epochs=0
  expect "$prog" "--limit: -5 must not be negative" --limit -5
  expect "$prog" "--batch-size: '' is not an integer" --batch-size ''
  expect "$prog" "--lr: 'fast' is not a number" --lr fast
  expect "$prog" "--lr: 'nan' is not a number" --lr nan
  expect "$prog" "--expect-accuracy: 1.5 must be in [0, 1]" --expect-accuracy 1.5
  expect "$prog" "unknown flag --epoch" --epoch 3
  expect "$prog" "--epochs needs a value" --epochs
  expect "$prog" "unexpected argument 'extra'" extra
  help=$("$bin/$prog" --help) || { echo "FAIL: $prog --help exited $?"; fail=1; }
  # Every flag line has a description and a default.
  while IFS= read -r line; do
    [[ "$line" == "  --"* ]] || continue
    [[ "$line" == *"(default: "*")" && $(wc -w <<<"$line") -ge 4 ]] || { echo "FAIL: $prog --help line: $line"; fail=1; }
  done <<<"$help"
  [[ "$help" == *"--epochs VALUE"* && "$help" == *"--seed VALUE"* ]] || { echo "FAIL: $prog --help: $help"; fail=1; }
done
expect mnist_mlp "--dropout: 1 must be in [0, 1)" --dropout 1
expect mnist_mlp "--optimizer: 'adamm' is not one of adam, adamw" --optimizer adamm
# A missing data folder is still reported clearly, after the flags pass.
out=$("$bin/mnist_mlp" --data /nonexistent/mnist --epochs 1 2>&1)
[[ $? == 2 && "$out" == *"/nonexistent/mnist"* ]] || { echo "FAIL: missing data folder: $out"; fail=1; }
[[ $fail == 0 ]] && echo "example flags: all cases passed"
exit $fail
