#!/usr/bin/python3
"""One MLP (or CNN) training epoch in Ember and in PyTorch, on an idle machine
and with one competing CPU-bound process, at 1 thread and at the default 2.
Ember also runs with its load guard off (EMBER_LOAD_GUARD=0), which is how
it behaved before issue 17. Runs alternate within each round, so a change
in the machine's noise hits every configuration alike. Prints the median
epoch seconds of each configuration and, per system, the loaded 2-thread
epoch over the loaded 1-thread epoch (the goal: at most 1.5).

    /usr/bin/python3 bench/compare_under_load.py [--rounds 3] [--model mlp]
        [--build build/release] [--data build/mnist] [--anchor ../shared/anchors/torch_mnist.py]

Needs what bench/compare_mnist.py needs.
"""
import argparse, os, statistics, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_mnist import HERE, ember, torch  # noqa: E402

BUSY = [sys.executable, "-c", "while True: pass"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build", "release"))
    ap.add_argument("--data", default=os.path.join(HERE, "..", "build", "mnist"))
    ap.add_argument("--anchor", default=os.path.join(HERE, "..", "..", "shared", "anchors", "torch_mnist.py"))
    a = ap.parse_args()
    configs = {
        "ember": lambda t: ember(a.build, a.model, a.data, t, 1)["train_s"],
        "ember, guard off": lambda t: ember(a.build, a.model, a.data, t, 1, {"EMBER_LOAD_GUARD": "0"})["train_s"],
        "pytorch": lambda t: torch(a.anchor, a.model, a.data, t)["train_s"],
    }
    times = {(name, load, t): [] for name in configs for load in ("idle", "loaded") for t in (1, 2)}
    for _ in range(a.rounds):
        for load in ("idle", "loaded"):
            busy = subprocess.Popen(BUSY) if load == "loaded" else None
            try:
                for name, f in configs.items():
                    for t in (2, 1):
                        times[(name, load, t)].append(f(t))
            finally:
                if busy:
                    busy.kill()
                    busy.wait()
    print(f"{a.model} epoch seconds, median of {a.rounds} rounds (one competing busy process when loaded)")
    print(f"  {'':18s} {'idle 1t':>8s} {'idle 2t':>8s} {'load 1t':>8s} {'load 2t':>8s} {'load 2t/1t':>11s}")
    med = lambda k: statistics.median(times[k])
    for name in configs:
        row = [med((name, load, t)) for load in ("idle", "loaded") for t in (1, 2)]
        print(f"  {name:18s} " + " ".join(f"{x:8.2f}" for x in row) + f" {row[3] / row[2]:11.2f}")


if __name__ == "__main__":
    main()
