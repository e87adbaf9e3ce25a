#!/usr/bin/python3
"""CSV parse throughput: Ember's data::read_csv (bench/csv_read.cpp) beside
pandas.read_csv (Debian's python3-pandas, C engine) on the same file,
alternating A B A B in one invocation. Prints each round and the medians
in MB/s, and the ratio.

    /usr/bin/python3 bench/compare_csv.py [FILE (default build/kaggle_digits/train.csv)]
        [--rounds 3] [--threads 2] [--build build/release]

scripts/make_kaggle_digits.sh writes the Digit Recognizer layout (60,000 rows, ~110 MB).
"""
import argparse, os, re, statistics, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("file", nargs="?", default="build/kaggle_digits/train.csv")
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--build", default="build/release")
a = ap.parse_args()

import pandas as pd

mb = os.path.getsize(a.file) / 1e6
exe = os.path.join(a.build, "bench", "ember_csv_read")
ember, pandas = [], []
shape = None
for r in range(a.rounds):
    out = subprocess.run([exe, a.file, "--threads", str(a.threads), "--rounds", "1"], check=True,
                         capture_output=True, text=True).stdout
    s = float(re.search(r"read_csv ([\d.]+)s", out).group(1))
    ember.append(s)
    print(f"round {r + 1}: {out.strip()}", flush=True)
    t0 = time.perf_counter()
    df = pd.read_csv(a.file)
    s = time.perf_counter() - t0
    pandas.append(s)
    shape = df.shape
    del df
    print(f"round {r + 1}: pandas {pd.__version__} read_csv {s:.3f}s {mb / s:.1f} MB/s shape {shape}", flush=True)
me, mp = statistics.median(ember), statistics.median(pandas)
print(f"{a.file}: {mb:.1f} MB; ember {mb / me:.1f} MB/s ({me:.3f}s, {a.threads} threads), "
      f"pandas {mb / mp:.1f} MB/s ({mp:.3f}s); ember is {mp / me:.1f}x faster")
