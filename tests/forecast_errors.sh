#!/bin/bash
# examples/forecast on bad input: each case must fail with a message naming
# the file, the line and the column at fault.
set -u
forecast=$1 dir=$2
mkdir -p "$dir"
fail=0
expect() {  # expect NAME PATTERN ARGS...
  local name=$1 pattern=$2
  shift 2
  out=$("$forecast" "$@" --epochs 1 --chart "" 2>&1)
  if [[ $? -eq 0 ]] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: wanted /$pattern/, got: $out"
    fail=1
  else
    echo "ok   $name: $out"
  fi
}
printf '"Year","Value"\n2000,1\n2001,2\n2002,x3\n2003,4\n' >"$dir/bad_cell.csv"
printf '' >"$dir/empty.csv"
{ echo '"t","v"'; for i in $(seq 1 20); do echo "$i,$i"; done; } >"$dir/short.csv"
{ echo '"t","v"'; for i in $(seq 1 60); do echo "$i,$((i % 7))"; done; } >"$dir/ok.csv"
{ echo 'date,v'; for i in $(seq 10 28); do echo "2023-01-$i,$i"; done; echo 'hello,29'; for i in $(seq 1 40); do echo "2023-03-$(printf %02d $((i % 28 + 1))),$i"; done; } >"$dir/hello.csv"
{ echo 'date,v'; for i in $(seq 1 60); do echo "$(printf %02d $((i % 28 + 1))).10.2023,$i"; done; } >"$dir/dotted.csv"
{ echo 'year,v'; for i in $(seq 1 30); do echo "$((1900 + i)),$i"; done; echo 'hello,31'; for i in $(seq 32 60); do echo "$((1900 + i)),$i"; done; } >"$dir/year_text.csv"
{ echo 'date,v'; for i in $(seq 1 59); do echo "2023-02-$(printf %02d $((i % 28 + 1))),$i"; done; echo '2023-02-30,60'; } >"$dir/feb30.csv"
expect missing_column "ok.csv:1: no column \"w\"" --csv "$dir/ok.csv" --column w
expect missing_time_column "ok.csv:1: no column \"time\"" --csv "$dir/ok.csv" --column v --time-column time
expect non_numeric "bad_cell.csv:4.*Value.*x3" --csv "$dir/bad_cell.csv" --column Value
expect too_few_rows "short.csv:21: column \"v\": 20 rows are too few for a window of 12" --csv "$dir/short.csv" --column v --window 12
expect empty_file "empty.csv" --csv "$dir/empty.csv" --column v
expect no_such_file "nope.csv" --csv "$dir/nope.csv" --column v
expect time_text_in_dates "hello.csv:21: column \"date\": 'hello' is not a time" --csv "$dir/hello.csv" --column v --time-column date
expect time_day_month_year "dotted.csv:2: column \"date\": '02.10.2023' is not a time" --csv "$dir/dotted.csv" --column v --time-column date
expect time_text_in_numbers "year_text.csv:32: column \"year\": 'hello' is not a time" --csv "$dir/year_text.csv" --column v --time-column year
expect time_no_such_day "feb30.csv:61: column \"date\": '2023-02-30' is not a time" --csv "$dir/feb30.csv" --column v --time-column date
exit $fail
