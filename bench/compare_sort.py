#!/usr/bin/python3
"""sort and topk in PyTorch (float32, 2 threads) on the shapes of
bench/sort_bench.cpp, run alternately with Ember's benchmark so both see the
same machine load. Run after building ember_sort_bench:

    /usr/bin/python3 bench/compare_sort.py [--rounds 3]

Prints microseconds per call, the median over rounds, for both.
"""
import argparse, json, os, statistics, subprocess, time
import torch

torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "..", "build", "release", "bench", "ember_sort_bench")


def timeit(fn, min_time=0.3):
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_time:
        fn()
        n += 1
    return (time.perf_counter() - t0) / n * 1e6


def torch_cases():
    a, b = torch.randn(256, 1000), torch.randn(1 << 20)
    c = torch.randn(1000, 256)
    g = torch.randn(256, 1000, requires_grad=True)
    return {
        "BM_Sort/256/1000": lambda: torch.sort(a, dim=-1, stable=True),
        "BM_Sort/1/1048576": lambda: torch.sort(b, dim=-1, stable=True),
        "BM_SortDescendingDim0": lambda: torch.sort(c, dim=0, descending=True, stable=True),
        "BM_Topk/256/1000/5": lambda: torch.topk(a, 5),
        "BM_Topk/1/1048576/100": lambda: torch.topk(b, 100),
        "BM_TopkBackward": lambda: torch.autograd.grad(torch.topk(g, 5).values.sum(), [g]),
    }


def ember_round():
    out = subprocess.run([BENCH, "--benchmark_format=json", "--benchmark_min_time=0.3"], check=True,
                         capture_output=True, text=True).stdout
    return {b["name"]: b["real_time"] for b in json.loads(out)["benchmarks"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    rounds = ap.parse_args().rounds
    ember, pt = {}, {}
    cases = torch_cases()
    for _ in range(rounds):
        for k, v in ember_round().items():
            ember.setdefault(k, []).append(v)
        for k, fn in cases.items():
            pt.setdefault(k, []).append(timeit(fn))
    print(f"| case | Ember us | PyTorch us | Ember / PyTorch |\n|---|---|---|---|")
    for k in cases:
        e, p = statistics.median(ember[k]), statistics.median(pt[k])
        print(f"| {k} | {e:.0f} | {p:.0f} | {e / p:.2f} |")


if __name__ == "__main__":
    main()
