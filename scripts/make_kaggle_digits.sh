#!/usr/bin/env bash
# Writes MNIST in the Kaggle "Digit Recognizer" layout:
#   train.csv        label,pixel0,...,pixel783   (60,000 rows)
#   test.csv         pixel0,...,pixel783         (10,000 rows)
#   test_labels.csv  ImageId,Label               (the answers, kept aside for --score)
# Pixel k is row k/28, column k%28, values 0-255; ImageId counts from 1.
# Usage: scripts/make_kaggle_digits.sh [MNIST_DIR (default build/release/mnist)] [OUT_DIR (default build/kaggle_digits)]
#                                      [TRAIN_ROWS TEST_ROWS (default: all; the smoke test's small copy)]
# MNIST_DIR holds the four IDX files (raw or .gz), as scripts/fetch_mnist.sh leaves them.
set -euo pipefail
mnist=${1:-build/release/mnist}
out=${2:-build/kaggle_digits}
mkdir -p "$out"
python3 - "$mnist" "$out" "${3:-0}" "${4:-0}" <<'PY'
import gzip, os, struct, sys

mnist, out = sys.argv[1], sys.argv[2]
train_rows, test_rows = int(sys.argv[3]), int(sys.argv[4])  # 0: all

def load(name):
    for path in (os.path.join(mnist, name), os.path.join(mnist, name + ".gz")):
        if os.path.exists(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as f:
                return f.read(), path
    sys.exit(f"make_kaggle_digits: no {name} (or .gz) in {mnist}; run scripts/fetch_mnist.sh {mnist}")

def images(name):
    b, path = load(name)
    magic, n, r, c = struct.unpack(">IIII", b[:16])
    if magic != 2051 or r != 28 or c != 28 or len(b) != 16 + n * 784:
        sys.exit(f"make_kaggle_digits: {path} is not an MNIST image file")
    return [b[16 + i * 784:16 + (i + 1) * 784] for i in range(n)]

def labels(name):
    b, path = load(name)
    magic, n = struct.unpack(">II", b[:8])
    if magic != 2049 or len(b) != 8 + n:
        sys.exit(f"make_kaggle_digits: {path} is not an MNIST label file")
    return list(b[8:])

num = [str(i) for i in range(256)]
pixels = ",".join(f"pixel{k}" for k in range(784))

def write(path, header, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        f.write(header + "\n")
        for row in rows:
            f.write(row + "\n")
    os.replace(tmp, path)

tr_x, tr_y = images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte")
te_x, te_y = images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte")
if train_rows:
    tr_x, tr_y = tr_x[:train_rows], tr_y[:train_rows]
if test_rows:
    te_x, te_y = te_x[:test_rows], te_y[:test_rows]
write(os.path.join(out, "train.csv"), "label," + pixels,
      (num[y] + "," + ",".join(num[p] for p in x) for x, y in zip(tr_x, tr_y)))
write(os.path.join(out, "test.csv"), pixels, (",".join(num[p] for p in x) for x in te_x))
write(os.path.join(out, "test_labels.csv"), "ImageId,Label", (f"{i + 1},{y}" for i, y in enumerate(te_y)))
print(f"wrote {out}/train.csv ({len(tr_x)} rows), {out}/test.csv ({len(te_x)} rows), {out}/test_labels.csv")
PY
