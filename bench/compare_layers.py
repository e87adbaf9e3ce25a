#!/usr/bin/python3
"""PyTorch's times for the shapes of bench/layers_bench.cpp (issue 10 part B):
embedding, layer_norm and conv_transpose2d, forward and forward+backward, 2
threads, median of --repeats timed batches. Run beside ember_layers_bench:

    /usr/bin/python3 bench/compare_layers.py
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def timed(fn, min_time=0.5, repeats=5):
    fn()
    n = 1
    while True:  # calibrate the batch to ~min_time / repeats
        t = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t > min_time / repeats:
            break
        n *= 2
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t) / n)
    return statistics.median(runs) * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    w = torch.randn(10000, 128)
    idx = torch.randint(0, 10000, (64, 32))
    wg = w.clone().requires_grad_()
    g = torch.randn(64, 32, 128)
    x = torch.randn(64, 32, 512)
    lw, lb = torch.randn(512), torch.randn(512)
    xg, lwg, lbg = x.clone().requires_grad_(), lw.clone().requires_grad_(), lb.clone().requires_grad_()
    lg = torch.randn(64, 32, 512)
    cx, cw, cb = torch.randn(16, 64, 14, 14), torch.randn(64, 32, 4, 4), torch.randn(32)
    cxg, cwg, cbg = cx.clone().requires_grad_(), cw.clone().requires_grad_(), cb.clone().requires_grad_()
    cg = torch.randn(16, 32, 28, 28)

    def no_grad(f):
        def run():
            with torch.no_grad():
                f()
        return run

    cases = [
        ("BM_EmbeddingForward", no_grad(lambda: F.embedding(idx, w))),
        ("BM_EmbeddingForwardBackward", lambda: torch.autograd.grad(F.embedding(idx, wg, padding_idx=0), [wg], g)),
        ("BM_LayerNormForward", no_grad(lambda: F.layer_norm(x, (512,), lw, lb))),
        ("BM_LayerNormForwardBackward", lambda: torch.autograd.grad(F.layer_norm(xg, (512,), lwg, lbg), [xg, lwg, lbg], lg)),
        ("BM_ConvTranspose2dForward", no_grad(lambda: F.conv_transpose2d(cx, cw, cb, stride=2, padding=1))),
        ("BM_ConvTranspose2dForwardBackward",
         lambda: torch.autograd.grad(F.conv_transpose2d(cxg, cwg, cbg, stride=2, padding=1), [cxg, cwg, cbg], cg)),
    ]
    print(f"PyTorch {torch.__version__}, {a.threads} threads")
    for name, fn in cases:
        print(f"{name:40s} {timed(fn, repeats=a.repeats):10.1f} us")


if __name__ == "__main__":
    main()
