#!/usr/bin/python3
"""The augmented-MNIST recipe of examples/mnist_cnn_aug.cpp in PyTorch, for a
side-by-side comparison of accuracy and epoch time (bench/README.md).

Same net (two blocks of (conv 3x3 + BN + ReLU) x 2 + max-pool, linear 3136->256
+ BN + ReLU + dropout 0.4, linear 256->10), Adam with OneCycleLR (max lr 3e-3),
batch 128, 12 epochs, and the same augmentation: torchvision's RandomAffine
(degrees 10, translate 0.1, scale 0.9-1.1, shear --shear) then, with
--elastic-alpha > 0, ElasticTransform (sigma 4), with torchvision's formulas (torchvision itself is not packaged in
Debian bookworm, so the transforms are written here with affine_grid,
conv2d and grid_sample, per batch), then Normalize(0.1307, 0.3081).

    /usr/bin/python3 bench/compare_mnist_aug.py [--epochs 12] [--augment 1] [--seed 1] [--threads 2]
        [--degrees 10] [--shear 0] [--elastic-alpha 0] [--data build/mnist] [--limit 0]

Prints one line per epoch and a final JSON line.
"""
import argparse, gzip, json, math, os, struct, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def idx(path):
    opener = gzip.open if not os.path.exists(path) else open
    path = path if os.path.exists(path) else path + ".gz"
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        c = lambda i, o: nn.Conv2d(i, o, 3, padding=1, bias=False)
        self.conv1, self.bn1 = c(1, 32), nn.BatchNorm2d(32)
        self.conv2, self.bn2 = c(32, 32), nn.BatchNorm2d(32)
        self.conv3, self.bn3 = c(32, 64), nn.BatchNorm2d(64)
        self.conv4, self.bn4 = c(64, 64), nn.BatchNorm2d(64)
        self.fc1, self.bn5 = nn.Linear(3136, 256, bias=False), nn.BatchNorm1d(256)
        self.dropout = nn.Dropout(0.4)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.conv3(x)))
        x = F.max_pool2d(F.relu(self.bn4(self.conv4(x))), 2)
        x = self.dropout(F.relu(self.bn5(self.fc1(x.flatten(1)))))
        return F.log_softmax(self.fc2(x), 1)


def gaussian_kernel(sigma):
    k = int(8 * sigma + 1)
    k += k % 2 == 0
    x = torch.linspace(-(k // 2), k // 2, k)
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def augment(x, degrees=10.0, translate=0.1, scale=(0.9, 1.1), shear=8.0, alpha=34.0, sigma=4.0):
    """torchvision's RandomAffine then ElasticTransform per image, sampled once (bilinear, zero fill). x: [B,1,H,W]."""
    b, _, h, w = x.shape
    angle = torch.empty(b).uniform_(-degrees, degrees)
    tx = torch.round(torch.empty(b).uniform_(-translate * w, translate * w))
    ty = torch.round(torch.empty(b).uniform_(-translate * h, translate * h))
    sc = torch.empty(b).uniform_(*scale)
    shx = torch.empty(b).uniform_(-shear, shear)
    rot, sx = torch.deg2rad(angle), torch.deg2rad(shx)
    # torchvision's _get_inverse_affine_matrix (shear y = 0), about the centre.
    a, bb = torch.cos(rot), -torch.cos(rot) * torch.tan(sx) - torch.sin(rot)
    c, d = torch.sin(rot), -torch.sin(rot) * torch.tan(sx) + torch.cos(rot)
    m = torch.stack([d, -bb, -c, a], 1).view(b, 2, 2) / sc.view(b, 1, 1)
    t = -(m @ torch.stack([tx, ty], 1).unsqueeze(2)).squeeze(2)
    # Pixel grid relative to the centre, then the elastic displacement (torchvision's units).
    ys, xs = torch.meshgrid(torch.arange(h) - (h - 1) / 2, torch.arange(w) - (w - 1) / 2, indexing="ij")
    k = gaussian_kernel(sigma)
    r = k.numel() // 2
    def field(n):
        f = torch.rand(b, 1, h, w) * 2 - 1
        f = F.pad(f, (r, r, 0, 0), mode="reflect") if r < w else f
        f = F.conv2d(f, k.view(1, 1, 1, -1))
        f = F.pad(f, (0, 0, r, r), mode="reflect") if r < h else f
        return F.conv2d(f, k.view(1, 1, -1, 1))[:, 0]
    dx = field(b) * alpha / h * (w / 2)
    dy = field(b) * alpha / w * (h / 2)
    u, v = xs + dx, ys + dy  # where the affine output is read
    su = m[:, 0, 0, None, None] * u + m[:, 0, 1, None, None] * v + t[:, 0, None, None]
    sv = m[:, 1, 0, None, None] * u + m[:, 1, 1, None, None] * v + t[:, 1, None, None]
    grid = torch.stack([su / (w / 2), sv / (h / 2)], -1)  # centre-relative pixels -> align_corners=False coords
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--augment", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--degrees", type=float, default=10.0, help="RandomAffine's rotation range, as mnist_cnn_aug --degrees")
    ap.add_argument("--shear", type=float, default=0.0, help="as mnist_cnn_aug --shear")
    ap.add_argument("--elastic-alpha", type=float, default=0.0, help="0: no elastic step, as mnist_cnn_aug --elastic-alpha")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "build", "release", "mnist"))
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    xtr = torch.from_numpy(idx(os.path.join(a.data, "train-images-idx3-ubyte")).copy()).float().div_(255).unsqueeze(1)
    ytr = torch.from_numpy(idx(os.path.join(a.data, "train-labels-idx1-ubyte")).astype(np.int64))
    xte = torch.from_numpy(idx(os.path.join(a.data, "t10k-images-idx3-ubyte")).copy()).float().div_(255).unsqueeze(1)
    yte = torch.from_numpy(idx(os.path.join(a.data, "t10k-labels-idx1-ubyte")).astype(np.int64))
    if a.limit:
        xtr, ytr = xtr[:a.limit], ytr[:a.limit]
    xte = (xte - 0.1307) / 0.3081
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    steps = math.ceil(len(xtr) / a.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=a.epochs * steps)
    acc, times = 0.0, []
    for epoch in range(1, a.epochs + 1):
        model.train()
        t0, aug_s, loss_sum = time.time(), 0.0, 0.0
        perm = torch.randperm(len(xtr))
        for i in range(steps):
            idx_ = perm[i * a.batch_size:(i + 1) * a.batch_size]
            t1 = time.time()
            x = xtr[idx_]
            if a.augment:
                x = augment(x, degrees=a.degrees, shear=a.shear, alpha=a.elastic_alpha)
            x = (x - 0.1307) / 0.3081
            aug_s += time.time() - t1
            opt.zero_grad()
            loss = F.nll_loss(model(x), ytr[idx_])
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx_)
        secs = time.time() - t0
        times.append(secs)
        model.eval()
        with torch.no_grad():
            correct = sum((model(xte[j:j + 1000]).argmax(1) == yte[j:j + 1000]).sum().item() for j in range(0, len(xte), 1000))
        acc = correct / len(xte)
        print(f"epoch {epoch:2d}/{a.epochs}  train loss {loss_sum / len(xtr):.4f}  test accuracy {100 * acc:.2f}%  "
              f"{secs:.1f}s (augmentation {aug_s:.1f}s, on the training thread)", flush=True)
    print(json.dumps({"test_acc": acc, "epoch_s": times, "augment": a.augment, "seed": a.seed}))


if __name__ == "__main__":
    main()
