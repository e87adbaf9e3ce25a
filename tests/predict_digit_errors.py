#!/usr/bin/env python3
"""predict_digit refuses bad input clearly: a non-zero exit, never a crash
(no signal), and each message names the file. Builds the bad files itself
(plain Python: zlib, struct, json).

    predict_digit_errors.py PREDICT_DIGIT MODEL.safetensors WORK_DIR
"""
import json
import os
import struct
import subprocess
import sys
import zlib


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(w, h, rows):
    raw = b"".join(b"\0" + bytes(r) for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def png_header_only(w, h):  # a valid IHDR claiming w x h, and no pixels
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + chunk(b"IEND", b"")


def safetensors(path, tensors, metadata):
    header, blobs, off = {"__metadata__": metadata}, b"", 0
    for name, shape in tensors:
        n = 4
        for s in shape:
            n *= s
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + n]}
        blobs += b"\0" * n
        off += n
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + blobs)


def main():
    exe, model, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    p = lambda name: os.path.join(work, name)  # noqa: E731
    digit = [[255] * 40 for _ in range(40)]
    for y in range(8, 32):
        digit[y][18:22] = [0] * 4
    good = png(40, 40, digit)
    files = {
        "notes.png": b"this is a text file, not an image\n",
        "truncated.png": good[: len(good) - 30],
        "zero.png": png_header_only(0, 10),
        "huge.png": png_header_only(100000, 100000),
        "blank.png": png(64, 48, [[255] * 64 for _ in range(48)]),
        "good.png": good,
    }
    for name, data in files.items():
        with open(p(name), "wb") as f:
            f.write(data)
    safetensors(p("wrong_shapes.safetensors"), [("fc1.weight", [32, 784]), ("fc1.bias", [32]),
                                                ("fc2.weight", [10, 32]), ("fc2.bias", [10])],
                {"arch": "mlp 784-64-10 relu"})
    cases = [  # (arguments, expected exit code, text the message must hold)
        ([p("notes.png")], 1, f"{p('notes.png')}: not an image"),
        ([p("truncated.png")], 1, f"{p('truncated.png')}: truncated PNG"),
        ([p("zero.png")], 1, f"{p('zero.png')}: zero-size image"),
        ([p("huge.png")], 1, f"{p('huge.png')}: image too large (PNG header says 100000x100000"),
        ([p("blank.png")], 1, f"no ink found in {p('blank.png')}"),
        ([p("missing.png")], 1, f"{p('missing.png')}: cannot open"),
        (["--model", p("no_such_model.safetensors"), p("good.png")], 2, "no_such_model.safetensors"),
        (["--model", p("wrong_shapes.safetensors"), p("good.png")], 2, "fc1.weight: checkpoint [32, 784]"),
        (["--model", p("notes.png"), p("good.png")], 2, "notes.png"),
    ]
    failures = 0
    for args, code, text in cases:
        full = [exe] + (args if args[0] == "--model" else ["--model", model] + args)
        r = subprocess.run(full, capture_output=True, text=True, timeout=60)
        ok = r.returncode == code and text in r.stderr
        print(f"{'ok  ' if ok else 'FAIL'} exit {r.returncode} (want {code}): {r.stderr.strip()[:200]}")
        failures += not ok
    # A bad image among good ones: the good ones are still answered, the exit is 1.
    r = subprocess.run([exe, "--model", model, "--json", p("good.png"), p("notes.png"), p("good.png")],
                       capture_output=True, text=True, timeout=60)
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    ok = r.returncode == 1 and len(lines) == 2 and lines[0]["file"] == p("good.png") and len(lines[0]["top"]) == 3
    print(f"{'ok  ' if ok else 'FAIL'} mixed good and bad images: exit {r.returncode}, {len(lines)} answers")
    failures += not ok
    print("PASS" if not failures else f"{failures} FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
