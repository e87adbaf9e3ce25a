#!/usr/bin/env python3
"""Draws handwritten-looking digits the way people draw them in a paint program:
dark round-brush strokes on a white canvas (anti-aliased, as paint programs
draw them), on canvases of different sizes, off centre, with different stroke
widths, slants, proportions and a little hand wobble. Writes <out>/dD_NN.png
(a few as JPEG or RGBA with a transparent background, as people save them).
The label is the digit after the "d". Deterministic (seeded).

    python3 scripts/draw_digits.py tests/data/drawings [--count 30] [--seed 11]
    python3 scripts/draw_digits.py tests/data/drawings/photo --photo --count 10 --seed 5

--photo makes photo-like pictures of paper instead: grey paper lit unevenly
(a gradient darker towards one edge, a vignette darker towards the corners),
pencil-grey ink, a little sensor noise.

Needs python3-pil and python3-numpy (Debian). The committed images are the
test data; re-running with the same seed writes the same pictures.
"""
import argparse
import math
import os
import random

import numpy as np
from PIL import Image, ImageDraw


def arc(cx, cy, rx, ry, a0, a1, n=40):
    """Points on an ellipse from angle a0 to a1 (degrees, 0 = right, 90 = down)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(a0, a1, n)]


def line(*pts, n=12):
    out = []
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        for t in np.linspace(0, 1, n, endpoint=False):
            out.append((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))
    out.append(pts[-1])
    return out


# Each digit: a few styles, each a list of strokes (polylines) in a unit box,
# x to the right, y down, roughly filling [0, 1] x [0, 1].
DIGITS = {
    0: [lambda: [arc(0.5, 0.5, 0.38, 0.48, -90, 275)],
        lambda: [arc(0.5, 0.5, 0.3, 0.48, -100, 265)]],
    1: [lambda: [line((0.5, 0.0), (0.5, 1.0))],
        lambda: [line((0.25, 0.22), (0.55, 0.0), (0.55, 1.0))],
        lambda: [line((0.3, 0.2), (0.6, 0.0), (0.6, 1.0)), line((0.35, 1.0), (0.85, 1.0))]],
    2: [lambda: [arc(0.5, 0.3, 0.36, 0.3, 190, 360) + line((0.86, 0.32), (0.1, 1.0), (0.92, 1.0))],
        lambda: [arc(0.48, 0.28, 0.38, 0.28, 180, 375) + arc(0.5, 1.05, 0.45, 0.6, -55, -120, 10)
                 + line((0.1, 0.98), (0.9, 0.98))]],
    3: [lambda: [arc(0.48, 0.26, 0.34, 0.25, 200, 450) + arc(0.48, 0.74, 0.38, 0.26, -90, 155)],
        lambda: [line((0.15, 0.02), (0.85, 0.02), (0.45, 0.42)) + arc(0.48, 0.7, 0.4, 0.3, -80, 160)]],
    4: [lambda: [line((0.7, 1.0), (0.7, 0.0), (0.05, 0.68), (0.95, 0.68))],
        lambda: [line((0.22, 0.0), (0.12, 0.58), (0.92, 0.58)), line((0.72, 0.15), (0.72, 1.0))]],
    5: [lambda: [line((0.88, 0.0), (0.25, 0.0), (0.2, 0.44)) + arc(0.48, 0.68, 0.4, 0.32, -125, 150)],
        lambda: [line((0.22, 0.0), (0.18, 0.45)) + arc(0.5, 0.7, 0.38, 0.3, -140, 160),
                 line((0.22, 0.02), (0.85, 0.0))]],
    6: [lambda: [arc(0.72, 0.6, 0.6, 0.6, 250, 180, 20) + arc(0.5, 0.7, 0.38, 0.3, 180, 540)],
        lambda: [line((0.7, 0.0), (0.2, 0.6)) + arc(0.5, 0.72, 0.32, 0.28, 190, 530)]],
    7: [lambda: [line((0.05, 0.02), (0.95, 0.02), (0.4, 1.0))],
        lambda: [line((0.05, 0.1), (0.08, 0.02), (0.92, 0.02), (0.45, 1.0)), line((0.35, 0.5), (0.85, 0.5))]],
    8: [lambda: [arc(0.5, 0.25, 0.3, 0.25, 90, 450) + arc(0.5, 0.74, 0.38, 0.26, -90, 270)],
        lambda: [[(0.5 + 0.36 * math.sin(2 * t), 0.5 - 0.5 * math.cos(t)) for t in np.linspace(0, 2 * math.pi, 80)]]],
    9: [lambda: [arc(0.45, 0.3, 0.36, 0.3, 0, 360) + line((0.81, 0.3), (0.72, 1.0))],
        lambda: [arc(0.48, 0.28, 0.34, 0.28, 10, 370) + arc(0.2, 0.3, 0.62, 0.7, 0, 70, 16)]],
}

CANVASES = [(640, 480), (400, 400), (800, 600), (300, 500), (1024, 768), (280, 280), (500, 300), (360, 640)]


def draw_one(digit, rng):
    style = rng.choice(DIGITS[digit])
    strokes = style()
    W, H = rng.choice(CANVASES)
    h = rng.uniform(0.3, 0.8) * H                      # digit height on the canvas
    w = h * rng.uniform(0.55, 0.85) * (0.45 if digit == 1 else 1.0)
    slant = rng.uniform(-0.15, 0.35)                   # x shift per unit of height (right-leaning hands)
    width = max(2.0, rng.choice([0.025, 0.05, 0.08, 0.12]) * h)  # brush diameter, px
    x0 = rng.uniform(0.03 * W, W - w - slant * h - 0.03 * W) if W - w - abs(slant) * h > 0.1 * W else 0.1 * W
    y0 = rng.uniform(0.03 * H, H - h - 0.03 * H)
    ss = 4  # paint programs anti-alias: draw at 4x, box-filter down
    img = Image.new("L", (W * ss, H * ss), 255)
    d = ImageDraw.Draw(img)
    r = width * ss / 2
    wob = [rng.uniform(0, 2 * math.pi) for _ in range(4)]
    for stroke in strokes:
        pts = []
        for (u, v) in stroke:
            u += 0.02 * math.sin(7 * v + wob[0]) + 0.015 * math.sin(13 * u + wob[1])  # a hand is not a ruler
            v += 0.02 * math.sin(5 * u + wob[2])
            x = x0 + u * w + slant * (1.0 - v) * h
            y = y0 + v * h
            pts.append((x * ss, y * ss))
        d.line(pts, fill=0, width=int(round(2 * r)))
        for (x, y) in pts:  # round brush: a disc at every point
            d.ellipse((x - r, y - r, x + r, y + r), fill=0)
    return img.resize((W, H), Image.BOX)


def photo(img, rng):
    """The drawing as a phone photo of paper: uneven light, grey ink, noise."""
    a = np.asarray(img, dtype=np.float64) / 255.0          # 1 paper, 0 ink
    H, W = a.shape
    y, x = np.mgrid[0:H, 0:W]
    ang = rng.uniform(0, 2 * math.pi)                      # the light comes from one side
    t = ((x / W - 0.5) * math.cos(ang) + (y / H - 0.5) * math.sin(ang)) + 0.5
    light = 1.0 - rng.uniform(0.3, 0.5) * np.clip(t, 0, 1)  # gradient
    r2 = ((x - W / 2) / (W / 2)) ** 2 + ((y - H / 2) / (H / 2)) ** 2
    light *= 1.0 - rng.uniform(0.15, 0.35) * r2 / 2         # vignette
    paper, ink = rng.uniform(0.8, 0.95), rng.uniform(0.1, 0.3)
    v = (ink + (paper - ink) * a) * light
    v += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 0.01, v.shape)
    return Image.fromarray(np.clip(v * 255 + 0.5, 0, 255).astype(np.uint8))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--photo", action="store_true", help="photo-like: uneven light, grey ink, noise")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for i in range(args.count):
        digit = i % 10
        img = draw_one(digit, rng)
        name = os.path.join(args.out, f"d{digit}_{i:02d}")
        if args.photo:
            photo(img, rng).save(name + ".png", optimize=True)
        elif i % 10 == 3:      # saved as JPEG
            img.convert("RGB").save(name + ".jpg", quality=90)
        elif i % 10 == 7:    # ink on a transparent layer, saved as RGBA
            rgba = Image.new("RGBA", img.size, (0, 0, 0, 0))
            rgba.putalpha(Image.eval(img, lambda v: 255 - v))
            rgba.save(name + ".png")
        else:
            img.save(name + ".png", optimize=True)
    print(f"wrote {args.count} drawings to {args.out}")


if __name__ == "__main__":
    main()
