#!/usr/bin/python3
"""Where a training epoch's CPU time goes, from a perf profile: runs one
example under `perf record`, keeps the samples of the training part (between
--skip and --keep fractions of the run) and sorts every sample into a
category by the shared object and symbol it hit.

    /usr/bin/python3 bench/profile_breakdown.py build/release/examples/mnist_cnn --limit 25600
    /usr/bin/python3 bench/profile_breakdown.py build/release/examples/mnist_mlp

Categories: oneDNN kernels (JIT code and libdnnl), optimizer (optim::),
data loading (the DataLoader's thread: gathering and converting batches),
OpenMP runtime (libgomp: fork/join and threads spinning for work), allocation
(malloc/free), kernel (page faults, syscalls), other Ember code (elementwise
and reduction loops, autograd, dispatch), the rest. Shares are of all CPU
samples on both cores, so a thread spinning in OpenMP counts although it
does not lengthen the step. Needs linux-perf.
"""
import argparse, collections, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def category(dso, sym, loader):
    if loader:
        return "data loading (loader thread)"
    if re.search(r"perf-\d+\.map", dso) or "libdnnl" in dso:  # oneDNN's JIT code is named in perf's map file
        return "oneDNN kernels"
    if "optim::" in sym or "5optim" in sym:  # also the mangled names of the fused update loops
        return "optimizer update"
    if "libgomp" in dso:
        return "OpenMP runtime (fork/join, spin)"
    if "kernel" in dso:
        return "kernel (page faults, syscalls)"
    if "libc" in dso and re.search(r"malloc|free|_int_|cfree", sym):
        return "malloc/free"
    if "libc" in dso or "libstdc++" in dso:
        return "libc/libstdc++ other"
    if "autograd::" in sym or "_Sp_counted" in sym or "make_view" in sym or "TensorImpl" in sym:
        return "Ember autograd and tensor bookkeeping"
    # The op a loop belongs to: the first ember::name(ember::Tensor ... in the symbol.
    m = re.search(r"ember::(?:kernels::)?(?:\(anonymous namespace\)::)?(\w+)\((?:ember::Tensor|std::vector|char const)", sym)
    return "Ember ops: " + (m.group(1) if m else "other")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--limit", default="0")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "build", "mnist"))
    ap.add_argument("--skip", type=float, default=0.10, help="fraction of the run to drop at the start (loading)")
    ap.add_argument("--keep", type=float, default=0.80, help="fraction of the run up to which samples count (before eval)")
    ap.add_argument("--top", type=int, default=14)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        run = subprocess.run(["perf", "record", "-q", "-F", "999", "-o", data, a.binary, "--epochs", "1", "--limit", a.limit,
                              "--data", a.data], capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"perf record failed:\n{run.stderr}")
        print("\n".join(l for l in run.stdout.splitlines() if l.startswith("epoch")))
        script = subprocess.run(["perf", "script", "-i", data, "-F", "tid,time,ip,sym,dso"], capture_output=True, text=True).stdout
    samples = []
    for line in script.splitlines():
        m = re.match(r"\s*(\d+)\s+([\d.]+):\s+[0-9a-f]+\s+(.*)\s+\(([^()]*)\)\s*$", line)
        if m:
            samples.append((int(m.group(1)), float(m.group(2)), m.group(3).strip(), m.group(4)))
    if not samples:
        sys.exit("no samples")
    t0, t1 = samples[0][1], samples[-1][1]
    lo, hi = t0 + a.skip * (t1 - t0), t0 + a.keep * (t1 - t0)
    window = [s for s in samples if lo <= s[1] <= hi]
    # The DataLoader's worker: the thread (not the main one) that never runs
    # oneDNN or OpenMP code; the main thread has the process's id, the lowest.
    main_tid = min(tid for tid, _, _, _ in window)
    compute_tids = {tid for tid, _, _, dso in window if "libgomp" in dso or re.search(r"perf-\d+\.map", dso)}
    loader_tids = {tid for tid, _, _, _ in window} - compute_tids - {main_tid}
    counts = collections.Counter(category(dso, sym, tid in loader_tids) for tid, _, sym, dso in window)
    total = sum(counts.values())
    print(f"{total} samples in {hi - lo:.2f} s of the run ({a.skip:.0%}-{a.keep:.0%}), both cores")
    for name, n in counts.most_common(a.top):
        print(f"  {100.0 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
