#!/bin/bash
# examples/forecast's chart: the time axis shows ISO dates as dates (not
# fractional years such as 2023.66), YYYYMMDD numbers as dates and years as
# years, and its last label stays inside the picture.
set -u
forecast=$1 dir=$2
mkdir -p "$dir"
fail=0
# check NAME CSV TIMECOL LABEL_REGEX: every tick label matches, the last one ends inside the width.
check() {
  local name=$1 csv=$2 col=$3 pattern=$4 svg="$dir/$1.svg"
  if ! "$forecast" --csv "$csv" --column v --time-column "$col" --window 6 --epochs 1 --chart "$svg" >/dev/null 2>"$dir/$name.err"; then
    echo "FAIL $name: $(cat "$dir/$name.err")"; fail=1; return
  fi
  python3 - "$svg" "$pattern" "$name" <<'PY' || fail=1
import re, sys
svg, pattern, name = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(svg).read()
width = float(re.search(r'<svg[^>]* width="([0-9.]+)"', text).group(1))
ticks = re.findall(r'<text x="([0-9.]+)" y="406"(?: text-anchor="(\w+)")?>([^<]*)</text>', text)
bad = [t for _, _, t in ticks if not re.fullmatch(pattern, t)]
if len(ticks) != 6 or bad:
    sys.exit(f"FAIL {name}: tick labels {[t for _, _, t in ticks]} (wanted /{pattern}/)")
x, anchor, label = ticks[-1]
# 12 px sans-serif digits are under 7 px wide.
right = float(x) + len(label) * 7 * {"end": 0, "middle": 0.5}.get(anchor, 1)
if right > width:
    sys.exit(f"FAIL {name}: the last label '{label}' ends near x={right:.0f}, past the width {width:.0f}")
print(f"ok   {name}: {[t for _, _, t in ticks]}")
PY
}
python3 -c "
import datetime, math
d = datetime.date(2023, 1, 1)
print('date,v')
for i in range(200): print((d + datetime.timedelta(days=i)).isoformat() + ',' + str(round(10 + 3 * math.sin(i / 9), 3)))" >"$dir/iso.csv"
python3 -c "
import datetime, math
d = datetime.date(1990, 1, 6)
print('date,v')
for i in range(200): print((d + datetime.timedelta(weeks=i)).strftime('%Y%m%d') + ',' + str(round(10 + math.sin(i / 5), 3)))" >"$dir/yyyymmdd.csv"
{ echo 'year,v'; for i in $(seq 0 99); do echo "$((1900 + i)),$(( (i * 37) % 11 ))"; done; } >"$dir/years.csv"
check iso_dates "$dir/iso.csv" date '[0-9]{4}-[0-9]{2}-[0-9]{2}'
check yyyymmdd_dates "$dir/yyyymmdd.csv" date '[0-9]{4}-[0-9]{2}-[0-9]{2}'
check years "$dir/years.csv" year '19[0-9]{2}'
exit $fail
