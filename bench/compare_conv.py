#!/usr/bin/python3
"""Side by side: the CNN's two conv layers (batch 64), forward + backward as in
training, in Ember (oneDNN through ember_onednn_bench) and in PyTorch, in one
run, alternating A B A B so that drifts of the machine hit both. Prints the
median milliseconds per step of each and the median of the pairwise ratios.

    /usr/bin/python3 bench/compare_conv.py [--build build/release] [--rounds 5] [--threads 2]

Needs Debian's python3-torch and libopenblas0-openmp.
"""
import argparse, json, os, statistics, subprocess, time

import torch
import torch.nn.functional as F

LAYERS = [((64, 1, 28, 28), (32, 1, 3, 3), False), ((64, 32, 26, 26), (64, 32, 3, 3), True)]


def torch_step_ms(layer, min_time=1.0):
    xs, ws, input_grad = layer
    x = torch.randn(xs, requires_grad=input_grad)
    w = torch.randn(ws, requires_grad=True)
    b = torch.randn(ws[0], requires_grad=True)
    g = torch.randn(F.conv2d(x, w, b).shape)
    for _ in range(3):  # warm up
        F.conv2d(x, w, b).backward(g)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_time:
        F.conv2d(x, w, b).backward(g)
        n += 1
    return (time.perf_counter() - start) / n * 1e3


def ember_step_ms(binary, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([binary, "--benchmark_filter=BM_Conv2dTrainStep/warm", "--benchmark_format=json",
                          "--benchmark_min_time=1"], env=env, check=True, capture_output=True, text=True).stdout
    res = json.loads(out)["benchmarks"]
    return [r["real_time"] / 1e6 if r["time_unit"] == "ns" else r["real_time"] for r in res]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build", "release"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    binary = os.path.join(a.build, "bench", "ember_onednn_bench")
    ember, pt = [[] for _ in LAYERS], [[] for _ in LAYERS]
    for _ in range(a.rounds):
        for i, ms in enumerate(ember_step_ms(binary, a.threads)):
            ember[i].append(ms)
        for i, layer in enumerate(LAYERS):
            pt[i].append(torch_step_ms(layer))
    print(f"torch {torch.__version__}, {a.threads} threads, {a.rounds} rounds (ms per forward+backward step)")
    total_e = [sum(e[r] for e in ember) for r in range(a.rounds)]
    total_p = [sum(p[r] for p in pt) for r in range(a.rounds)]
    for name, e, p in [("layer 1 (1->32)", ember[0], pt[0]), ("layer 2 (32->64)", ember[1], pt[1]),
                       ("both layers", total_e, total_p)]:
        ratios = [x / y for x, y in zip(e, p)]
        print(f"{name:18s} ember {statistics.median(e):8.2f}  torch {statistics.median(p):8.2f}  "
              f"ember/torch {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()
