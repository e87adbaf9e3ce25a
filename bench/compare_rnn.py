#!/usr/bin/python3
"""Side by side: the LSTM's training step at sequential MNIST's shapes (seq 28,
batch 64, input 28, hidden 128, one layer; forward, then backward from a fixed
output gradient) in Ember (ember_rnn_bench, fused float32 path) and in
PyTorch's nn.LSTM, in one run, alternating A B A B so that drifts of the
machine hit both. Prints the median milliseconds per step of each and the
median of the pairwise ratios (goal: Ember / PyTorch <= 0.5).

    /usr/bin/python3 bench/compare_rnn.py [--build build/release] [--rounds 5] [--threads 2] [--mode lstm|gru|rnn]

Needs Debian's python3-torch.
"""
import argparse, json, os, statistics, subprocess, time

import torch

BENCH = {"lstm": "BM_LstmTrainStep/1/", "gru": "BM_GruTrainStep/1/", "rnn": "BM_RnnTanhTrainStep/1/"}
TORCH = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


def torch_step_ms(mode, min_time=1.0):
    m = TORCH[mode](28, 128)
    x = torch.randn(28, 64, 28)
    g = torch.randn(28, 64, 128)
    for _ in range(3):  # warm up
        m.zero_grad()
        m(x)[0].backward(g)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_time:
        m.zero_grad()
        m(x)[0].backward(g)
        n += 1
    return (time.perf_counter() - start) / n * 1e3


def ember_step_ms(binary, mode, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([binary, f"--benchmark_filter={BENCH[mode]}", "--benchmark_format=json",
                          "--benchmark_min_time=1"], env=env, check=True, capture_output=True, text=True).stdout
    r = json.loads(out)["benchmarks"][0]
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[r["time_unit"]]
    return r["real_time"] * scale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build", "release"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mode", default="lstm", choices=sorted(BENCH))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    binary = os.path.join(a.build, "bench", "ember_rnn_bench")
    ember, pt = [], []
    for _ in range(a.rounds):
        ember.append(ember_step_ms(binary, a.mode, a.threads))
        pt.append(torch_step_ms(a.mode))
    ratios = [e / p for e, p in zip(ember, pt)]
    print(f"torch {torch.__version__}, {a.threads} threads, {a.rounds} rounds, {a.mode} 28x64x28 -> 128, "
          f"ms per forward+backward step")
    print(f"ember {statistics.median(ember):8.2f}  torch {statistics.median(pt):8.2f}  "
          f"ember/torch {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()
