#!/usr/bin/env python3
"""Data-parallel speed on this machine, side by side (issue 16): one epoch of
the examples (mnist_mlp, mnist_cnn) as

  1p1t  one process, 1 thread          (mnist_X --threads 1)
  2r1t  mpirun -np 2, 1 thread a rank  (mpirun -np 2 -x OMP_NUM_THREADS=1 mnist_X --distributed)
  1p2t  one process, 2 threads         (mnist_X --threads 2)

in alternating order round after round (1p1t 2r1t 1p2t, then 1p2t 2r1t 1p1t,
...), so a change in the machine's load hits every setup alike. Each run
reports the epoch's training seconds and evaluation seconds (the example's own
"epoch 1/1 ... 12.3s ... eval 0.45s" line); an epoch is their sum. Beside
each run: the load average before it and the CPU seconds its processes used
per wall second (2.0 means two full cores). With --phases the 2-rank runs
also print the gradient all-reduce's time per step, and `ember_ddp_bench
--model allreduce:MB` times the collective alone at each model's size.

  /usr/bin/python3 bench/compare_ddp.py --rounds 3                 # full training set, MLP and CNN
  /usr/bin/python3 bench/compare_ddp.py --models cnn --cnn-limit 12800 --rounds 2
  /usr/bin/python3 bench/compare_ddp.py ... --mpi-args "--bind-to none --mca mpi_yield_when_idle 1"

Hold the shared CPU lock for each run (the script takes it for each run, so other engineers'
builds interleave between runs; the times start once it is held).
"""
import argparse
import fcntl
import os
import re
import resource
import statistics
import subprocess
import sys
import time

EPOCH = re.compile(r"epoch\s+1/1\s.*?accuracy ([0-9.]+)%\s+([0-9.]+)s \(.*?\)\s+eval ([0-9.]+)s")
SYNC = re.compile(r"gradient all-reduce ([0-9.]+) ms/step \(of which waiting after backward ([0-9.]+), copies ([0-9.]+)\), ([0-9.]+) MB")
ALLREDUCE = re.compile(r"all_reduce ([0-9.]+) MB .*?: ([0-9.]+) ms")
MB = {"mlp": 2.68, "cnn": 4.80}  # bytes all-reduced per step (ReducerStats.bytes_per_step)


def run(cmd, lock):
    lock_file = None
    if lock:  # held for this run only; the times below start once it is ours
        lock_file = open(lock, "a")
        fcntl.flock(lock_file, fcntl.LOCK_EX)
    try:
        return run_locked(cmd)
    finally:
        if lock_file:
            lock_file.close()


def run_locked(cmd):
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout[-3000:]}")
    return p.stdout, load, cpu / wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--data", default=None, help="MNIST folder (default: BUILD/mnist)")
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mlp-limit", type=int, default=0, help="training examples for the MLP (0: all 60,000)")
    ap.add_argument("--cnn-limit", type=int, default=0, help="training examples for the CNN (0: all 60,000)")
    ap.add_argument("--setups", default="1p1t,2r1t,1p2t")
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--mpi-args", default="", help="extra mpirun arguments, e.g. '--bind-to none'")
    ap.add_argument("--lock", default="/tmp/ember-cpu.lock", help="flock this file around each run ('' for none)")
    args = ap.parse_args()
    data = args.data or os.path.join(args.build, "mnist")
    setups = args.setups.split(",")
    base_mpi = [args.mpirun, "--allow-run-as-root", "--oversubscribe", "-np", "2", "-x", "OMP_NUM_THREADS=1"]
    base_mpi += args.mpi_args.split()

    def command(model, setup):
        exe = os.path.join(args.build, "examples", f"mnist_{model}")
        limit = args.mlp_limit if model == "mlp" else args.cnn_limit
        common = ["--epochs", "1", "--data", data, "--limit", str(limit), "--phases"]
        if setup == "1p1t":
            return ["env", "OMP_NUM_THREADS=1", exe, "--threads", "1"] + common
        if setup == "1p2t":
            return ["env", "OMP_NUM_THREADS=2", exe, "--threads", "2"] + common
        return base_mpi + [exe, "--distributed"] + common

    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')}  nproc {os.cpu_count()}  mpirun {' '.join(base_mpi[1:])}")
    results = {}  # (model, setup) -> list of (train, eval, load, cpu_per_wall, sync)
    allreduce = {}
    for r in range(args.rounds):
        order = setups if r % 2 == 0 else list(reversed(setups))
        for model in args.models.split(","):
            for setup in order:
                out, load, cpu = run(command(model, setup), args.lock)
                m = EPOCH.search(out)
                if not m:
                    sys.exit(f"no epoch line in the output of {setup} {model}:\n{out[-2000:]}")
                acc, train, ev = float(m.group(1)), float(m.group(2)), float(m.group(3))
                s = SYNC.search(out)
                sync = (float(s.group(1)), float(s.group(2)), float(s.group(3))) if s else None
                results.setdefault((model, setup), []).append((train, ev, load, cpu, sync))
                extra = f"  all-reduce {sync[0]:.2f} ms/step (waiting {sync[1]:.2f}, copies {sync[2]:.2f})" if sync else ""
                print(f"round {r + 1}  {model}  {setup}  train {train:6.2f} s  eval {ev:5.2f} s  epoch {train + ev:6.2f} s"
                      f"  accuracy {acc:.2f}%  load {load:.2f}  cpu/wall {cpu:.2f}{extra}", flush=True)
            if "2r1t" in setups:
                bench = os.path.join(args.build, "bench", "ember_ddp_bench")
                if os.path.exists(bench):
                    out, _, _ = run(base_mpi + [bench, "--model", f"allreduce:{MB[model]}", "--steps", "200"], args.lock)
                    m = ALLREDUCE.search(out)
                    if m:
                        allreduce.setdefault(model, []).append(float(m.group(2)))
                        print(f"round {r + 1}  {model}  all_reduce {MB[model]} MB alone: {m.group(2)} ms", flush=True)

    print("\n| model | setup | epoch s (median) | train s | eval s | min-max epoch s | load avg | cpu/wall |")
    print("|---|---|---|---|---|---|---|---|")
    for (model, setup), rs in results.items():
        ep = [t + e for t, e, _, _, _ in rs]
        print(f"| {model} | {setup} | {statistics.median(ep):.2f} | {statistics.median([t for t, *_ in rs]):.2f} | "
              f"{statistics.median([e for _, e, *_ in rs]):.2f} | {min(ep):.2f}-{max(ep):.2f} | "
              f"{statistics.median([l for _, _, l, _, _ in rs]):.2f} | {statistics.median([c for _, _, _, c, _ in rs]):.2f} |")
    print()
    for model in args.models.split(","):
        def epochs(setup):
            return [t + e for t, e, *_ in results.get((model, setup), [])]
        two = epochs("2r1t")
        for other in ("1p1t", "1p2t"):
            one = epochs(other)
            if two and one:
                ratios = [a / b for a, b in zip(one, two)]
                print(f"{model}: 2 ranks x 1 thread are {statistics.median(ratios):.2f}x as fast per epoch as {other} "
                      f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}; goal for 1p1t: 1.7x)")
        syncs = [s for *_, s in results.get((model, "2r1t"), []) if s]
        if syncs:
            print(f"{model}: gradient all-reduce in training {statistics.median([s[0] for s in syncs]):.2f} ms/step "
                  f"(waiting after backward {statistics.median([s[1] for s in syncs]):.2f}, copies "
                  f"{statistics.median([s[2] for s in syncs]):.2f}); the collective alone at "
                  f"{MB[model]} MB: {statistics.median(allreduce.get(model, [float('nan')])):.2f} ms")


if __name__ == "__main__":
    main()
