#!/usr/bin/python3
"""Whole-training comparison: one epoch of the MLP and of the CNN in Ember
(examples/mnist_mlp, examples/mnist_cnn) and in PyTorch
(../shared/anchors/torch_mnist.py), alternating A B A B in one invocation.
Prints per model the median epoch seconds, samples/s, eval seconds, test
accuracy and peak RSS of each, and the median of the pairwise ratios.

    /usr/bin/python3 bench/compare_mnist.py [--pairs 3] [--models mlp,cnn] [--threads 2]
        [--build build/release] [--data build/mnist] [--anchor ../shared/anchors/torch_mnist.py]

Needs Debian's python3-torch and libopenblas0-openmp, and the MNIST files
(scripts/fetch_mnist.sh).
"""
import argparse, json, os, re, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
LINE = re.compile(r"epoch\s+1/1\s+train loss \S+\s+test loss \S+\s+accuracy ([\d.]+)%\s+([\d.]+)s \(([\d.]+) samples/s\)\s+eval ([\d.]+)s")


def run(cmd, env=None):
    """Runs cmd (with env added to the environment); returns its stdout and its peak RSS in MB (from wait4)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         env=dict(os.environ, **env) if env else None)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed with {p.returncode}:\n{out}")
    return out, usage.ru_maxrss / 1024


def ember(build, model, data, threads, seed, env=None):
    out, rss = run([os.path.join(build, "examples", f"mnist_{model}"), "--epochs", "1", "--threads", str(threads),
                    "--data", data, "--seed", str(seed)], env)
    m = LINE.search(out)
    if not m:
        sys.exit(f"could not read the epoch line of mnist_{model}:\n{out}")
    acc, secs, sps, ev = map(float, m.groups())
    return {"train_s": secs, "samples_per_s": sps, "eval_s": ev, "test_acc": acc / 100, "peak_rss_mb": rss}


def torch(anchor, model, data, threads):
    out, rss = run(["/usr/bin/python3", anchor, data, "--model", model, "--epochs", "1", "--threads", str(threads)])
    r = json.loads(out.strip().splitlines()[-1])
    r["peak_rss_mb"] = rss
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build", "release"))
    ap.add_argument("--data", default=os.path.join(HERE, "..", "build", "mnist"))
    ap.add_argument("--anchor", default=os.path.join(HERE, "..", "..", "shared", "anchors", "torch_mnist.py"))
    a = ap.parse_args()
    for model in a.models.split(","):
        e, t = [], []
        for i in range(a.pairs):
            e.append(ember(a.build, model, a.data, a.threads, i + 1))
            t.append(torch(a.anchor, model, a.data, a.threads))
        med = lambda rs, k: statistics.median(r[k] for r in rs)
        ratio = statistics.median(x["train_s"] / y["train_s"] for x, y in zip(e, t))
        print(f"{model}: {a.pairs} pairs, {a.threads} threads, batch 64")
        print(f"  {'':8s} {'epoch s':>8s} {'samples/s':>10s} {'eval s':>7s} {'test acc':>9s} {'peak RSS MB':>12s}")
        for name, rs in (("ember", e), ("pytorch", t)):
            print(f"  {name:8s} {med(rs, 'train_s'):8.2f} {med(rs, 'samples_per_s'):10.0f} {med(rs, 'eval_s'):7.2f} "
                  f"{med(rs, 'test_acc'):9.4f} {med(rs, 'peak_rss_mb'):12.0f}")
        pairs = ", ".join(f"{x['train_s'] / y['train_s']:.2f}" for x, y in zip(e, t))
        print(f"  epoch time ember/pytorch: median {ratio:.2f} (pairs: {pairs}); "
              f"peak RSS ratio {med(e, 'peak_rss_mb') / med(t, 'peak_rss_mb'):.2f}")


if __name__ == "__main__":
    main()
