#!/usr/bin/python3
"""CSV parse throughput: Ember's data::read_csv (bench/csv_read.cpp) beside
pandas.read_csv (Debian's python3-pandas, C engine) on the same file,
alternating A B A B in one invocation. Both run in long-lived processes
(ember_csv_read --serve, and this Python process for pandas), and each does
one untimed warm-up read first ("cold", printed), so both sides' rounds see
the same conditions: the file in the page cache and a process that has
allocated and freed its output once. Each timed round is the whole call,
allocation included. Prints each round, the medians in MB/s and the ratio.

    /usr/bin/python3 bench/compare_csv.py [FILE (default build/kaggle_digits/train.csv)]
        [--rounds 5] [--threads 2] [--build build/release]

scripts/make_kaggle_digits.sh writes the Digit Recognizer layout (60,000 rows, ~110 MB).
"""
import argparse, os, re, statistics, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("file", nargs="?", default="build/kaggle_digits/train.csv")
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--build", default="build/release")
a = ap.parse_args()

import pandas as pd

mb = os.path.getsize(a.file) / 1e6
exe = os.path.join(a.build, "bench", "ember_csv_read")
proc = subprocess.Popen([exe, a.file, "--threads", str(a.threads), "--serve"], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, text=True, bufsize=1)


def ember_round():
    proc.stdin.write("read\n")
    proc.stdin.flush()
    out = proc.stdout.readline()
    if not out:
        sys.exit(f"{exe} stopped (see its message above)")
    return float(re.search(r"read_csv ([\d.]+)s", out).group(1)), out.strip()


def pandas_round():
    t0 = time.perf_counter()
    df = pd.read_csv(a.file)
    s = time.perf_counter() - t0
    shape = df.shape
    del df
    return s, f"pandas {pd.__version__} read_csv {s:.3f}s {mb / s:.1f} MB/s shape {shape}"


print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}", flush=True)
for f in (ember_round, pandas_round):
    print(f"cold: {f()[1]}", flush=True)
ember, pandas = [], []
for r in range(a.rounds):
    s, line = ember_round()
    ember.append(s)
    print(f"round {r + 1}: {line}", flush=True)
    s, line = pandas_round()
    pandas.append(s)
    print(f"round {r + 1}: {line}", flush=True)
proc.stdin.close()
proc.wait()
me, mp = statistics.median(ember), statistics.median(pandas)
print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
print(f"{a.file}: {mb:.1f} MB; ember {mb / me:.1f} MB/s ({me:.3f}s, {a.threads} threads), "
      f"pandas {mb / mp:.1f} MB/s ({mp:.3f}s); ember is {mp / me:.1f}x faster")
