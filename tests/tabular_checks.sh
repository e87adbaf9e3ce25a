#!/bin/bash
# examples/tabular on tables a new user brings: statsmodels' space-separated,
# single-quoted spector.csv with its row-number column; decimal commas in a ';'
# file; one text cell in a column of numbers; and the linear baseline beside
# the MLP on statecrime. Each case names the output it must print.
set -u
tabular=$1 dir=$2
sm=/usr/lib/python3/dist-packages/statsmodels/datasets
mkdir -p "$dir"
fail=0
expect() {  # expect NAME PATTERN ARGS...
  local name=$1 pattern=$2
  shift 2
  out=$("$tabular" "$@" 2>&1)
  if [[ $? -ne 0 ]] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: wanted /$pattern/, got: $(grep -v '^epoch' <<<"$out")"
    fail=1
  else
    echo "ok   $name: $(grep -E -- "$pattern" <<<"$out" | head -1)"
  fi
}
reject() {  # reject NAME PATTERN ARGS...: the output must not match
  local name=$1 pattern=$2
  shift 2
  out=$("$tabular" "$@" 2>&1)
  if [[ $? -ne 0 ]] || grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: did not want /$pattern/, got: $(grep -v '^epoch' <<<"$out")"
    fail=1
  else
    echo "ok   $name"
  fi
}
# 200 rows: y = 1 when x1 + x2 > 1; x1, x2 in [0, 1) with two decimals.
awk 'BEGIN { srand(7); print "x1;x2;y"; for (i = 0; i < 200; i++) { a = int(rand() * 100) / 100; b = int(rand() * 100) / 100;
       s1 = sprintf("%.2f", a); s2 = sprintf("%.2f", b); sub(/\./, ",", s1); sub(/\./, ",", s2);
       print s1 ";" s2 ";" (a + b > 1 ? 1 : 0) } }' >"$dir/comma.csv"
awk 'BEGIN { srand(7); print "big,x,y"; for (i = 0; i < 200; i++) { a = int(rand() * 1000); b = rand();
       print (i == 117 ? "lots" : a) "," b "," (a > 500 ? 1 : 0) } }' >"$dir/big.csv"
expect decimal_commas "comma.csv: 200 rows, 2 features -> 2 inputs" --csv "$dir/comma.csv" --target y --epochs 5
reject decimal_commas_no_note "^note:" --csv "$dir/comma.csv" --target y --epochs 5
expect text_in_numbers "^note: .*big.csv:119: column big holds 'lots', not a number" --csv "$dir/big.csv" --target y --epochs 5
expect linear_baseline_printed "logistic regression [0-9.]+%" --csv "$dir/big.csv" --target y --epochs 5
if [[ -f $sm/spector/spector.csv ]]; then
  expect spector_quotes "target GRADE \(classification, 2 classes\)" --csv "$sm/spector/spector.csv" --target GRADE --epochs 5
  expect spector_id "^note: .*left out column OBS: it counts the rows \(1 to 32" --csv "$sm/spector/spector.csv" --target GRADE --epochs 5
  expect spector_keep_ids "4 features" --csv "$sm/spector/spector.csv" --target GRADE --epochs 5 --keep-ids
fi
if [[ -f $sm/statecrime/statecrime.csv ]]; then
  # The 41/10 split of seed 1: ridge's 109.6 beats the MLP, and the program says so.
  expect statecrime_ridge "mean baseline 331\.6, ridge regression 109\.6" --csv "$sm/statecrime/statecrime.csv" --target violent --drop state
  expect statecrime_warning "^warning: ridge regression does better than the MLP" --csv "$sm/statecrime/statecrime.csv" --target violent --drop state
fi
exit $fail
