#!/usr/bin/env python3
"""Reads the event files of a run back with protobuf itself and compares them
with what the writer says it wrote (tests/log/log_fixture.cpp proof DIR).

    check_events.py PROTOC RUN_DIR            every record, CRC and value
    check_events.py PROTOC RUN_DIR --truncate cut the file at every byte of its
                                              last record: every record before it
                                              must still read, as TensorBoard does

The .proto (tensorboard_min.proto, TensorBoard's field numbers) is compiled by
Debian's protoc into a temporary folder; python3-protobuf decodes with it.
"""
import importlib
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def _table():
    t = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _table()


def crc32c(data):
    """CRC-32C (Castagnoli), independent of the C++ one."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = (crc >> 8) ^ _T[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class DataLoss(Exception):
    pass


def read_records(data):
    """TensorBoard's reading rule: complete records are returned, a CRC mismatch in
    one is an error, and a partial record at the end (a writer still writing, or
    killed) ends the file without an error."""
    out, at = [], 0
    while at < len(data):
        if len(data) - at < 12:
            break  # partial header
        (n,) = struct.unpack_from("<Q", data, at)
        (len_crc,) = struct.unpack_from("<I", data, at + 8)
        if masked(data[at:at + 8]) != len_crc:
            raise DataLoss(f"length CRC mismatch at byte {at}")
        if len(data) - at - 12 < n + 4:
            break  # partial body
        body = data[at + 12:at + 12 + n]
        (body_crc,) = struct.unpack_from("<I", data, at + 12 + n)
        if masked(body) != body_crc:
            raise DataLoss(f"data CRC mismatch at byte {at}")
        out.append((at, body))
        at += 12 + n + 4
    return out


def compile_proto(protoc, tmp):
    subprocess.run([protoc, f"--proto_path={HERE}", f"--python_out={tmp}", os.path.join(HERE, "tensorboard_min.proto")],
                   check=True)
    sys.path.insert(0, tmp)
    return importlib.import_module("tensorboard_min_pb2")


def event_files(run_dir):
    files = []
    for root, _, names in os.walk(run_dir):
        files += [os.path.join(root, n) for n in names if "tfevents" in n]
    return sorted(files)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def same(a, b):
    if isinstance(b, str):
        b = float(b)
    return (math.isnan(a) and math.isnan(b)) or a == b


def check_histogram(h, want):
    values = [v if not isinstance(v, str) else float(v) for v in want["values"]]
    finite = [f32(v) for v in values if math.isfinite(v)]
    assert h.num == len(finite), (h.num, len(finite))
    assert h.min == min(finite) and h.max == max(finite), (h.min, h.max)
    assert math.isclose(h.sum, sum(finite), rel_tol=1e-9, abs_tol=1e-9), (h.sum, sum(finite))
    assert math.isclose(h.sum_squares, sum(v * v for v in finite), rel_tol=1e-9)
    limits, counts = list(h.bucket_limit), list(h.bucket)
    assert len(limits) == len(counts) and sum(counts) == len(finite)
    assert all(b > a for a, b in zip(limits, limits[1:])), "bucket limits must increase"
    # Recount every value into the buckets the file describes: [limit[i-1], limit[i]).
    recount = [0] * len(counts)
    for v in finite:
        i = 0
        while i < len(limits) - 1 and not v < limits[i]:
            i += 1
        recount[i] += 1
    assert recount == counts, f"{want['tag']} step {want['step']}: buckets {counts} but the values fall as {recount}"
    if want["bins"]:
        assert len(counts) == want["bins"] and limits[-1] == max(finite)


def check_run(pb, run_dir):
    want = json.load(open(os.path.join(run_dir, "expected.json")))
    scalars, histos, texts, hparams_seen = [], {}, [], set()
    files = event_files(run_dir)
    assert files, f"no event files in {run_dir}"
    for path in files:
        assert os.path.basename(path).startswith("events.out.tfevents."), path
        data = open(path, "rb").read()
        recs = read_records(data)
        assert sum(12 + len(b) + 4 for _, b in recs) == len(data), f"{path}: trailing bytes"
        first = pb.Event.FromString(recs[0][1])
        assert first.file_version == "brain.Event:2", first
        for _, body in recs[1:]:
            e = pb.Event.FromString(body)
            assert e.wall_time > 1e9, e.wall_time
            assert e.WhichOneof("what") == "summary"
            for v in e.summary.value:
                kind = v.WhichOneof("value")
                if kind == "simple_value":
                    scalars.append((v.tag, e.step, v.simple_value))
                elif kind == "histo":
                    histos[(v.tag, e.step)] = v.histo
                elif kind == "image":
                    pass  # images are checked against the expected pixels below
                elif kind == "tensor":
                    assert v.metadata.plugin_data.plugin_name == "text"
                    assert v.tensor.dtype == 7 and [d.size for d in v.tensor.tensor_shape.dim] == [1]
                    texts.append([v.tag, e.step, v.tensor.string_val[0].decode("utf-8")])
                else:
                    assert kind is None and v.metadata.plugin_data.plugin_name == "hparams", v
                    hp = pb.HParamsPluginData.FromString(v.metadata.plugin_data.content)
                    hparams_seen.add(hp.WhichOneof("data"))
                    if hp.HasField("session_start_info"):
                        got = {}
                        for k, val in hp.session_start_info.hparams.items():
                            got[k] = getattr(val, val.WhichOneof("kind"))
                        assert got == want["hparams"], (got, want["hparams"])
                    if hp.HasField("experiment"):
                        names = sorted(i.name for i in hp.experiment.hparam_infos)
                        assert names == sorted(want["hparams"]), names
                        assert [m.name.tag for m in hp.experiment.metric_infos] == list(want["metrics"])
    assert hparams_seen == {"experiment", "session_start_info", "session_end_info"}, hparams_seen
    expected = [tuple(s) for s in want["scalars"]]
    assert len(scalars) == len(expected), (len(scalars), len(expected))
    for got, exp in zip(scalars, expected):
        assert got[0] == exp[0] and got[1] == exp[1] and same(got[2], exp[2]), (got, exp)
    for h in want["histograms"]:
        check_histogram(histos.pop((h["tag"], h["step"])), h)
    assert not histos, f"unexpected histograms {list(histos)}"
    assert texts == want["texts"], texts
    check_images(pb, files, want["images"])
    n = sum(len(read_records(open(p, "rb").read())) for p in files)
    print(f"check_events: {len(files)} file(s), {n} records, {len(scalars)} scalars, {len(want['histograms'])} histograms, "
          f"{len(want['images'])} images, {len(texts)} texts: all CRCs and values match")


def check_images(pb, files, want):
    """Decodes each PNG (zlib, filters) and compares its pixels with the expected ones."""
    import zlib
    got = {}
    for path in files:
        for _, body in read_records(open(path, "rb").read())[1:]:
            e = pb.Event.FromString(body)
            for v in e.summary.value:
                if v.WhichOneof("value") == "image":
                    got[(v.tag, e.step)] = v.image
    for w in want:
        img = got.pop((w["tag"], w["step"]))
        assert (img.height, img.width, img.colorspace) == (w["height"], w["width"], w["channels"]), img
        pixels = decode_png(img.encoded_image_string, zlib)
        assert pixels == (w["height"], w["width"], w["channels"], bytes(w["pixels"])), f"{w['tag']}: pixels differ"
    assert not got, f"unexpected images {list(got)}"


def decode_png(data, zlib):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, idat, ihdr = 8, b"", None
    while at < len(data):
        (n,) = struct.unpack_from(">I", data, at)
        kind = data[at + 4:at + 8]
        chunk = data[at + 8:at + 8 + n]
        (crc,) = struct.unpack_from(">I", data, at + 8 + n)
        assert zlib.crc32(kind + chunk) == crc, f"PNG chunk {kind} CRC"
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        at += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and interlace == 0, ihdr
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[ctype]
    raw, stride, out, prev = zlib.decompress(idat), w * channels, bytearray(), bytearray(w * channels)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb_, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb_ and pa <= pc else b if pb_ <= pc else c)) & 255
        out += line
        prev = line
    return h, w, channels, bytes(out)


def check_truncation(pb, run_dir):
    """Every cut inside the last record of each file still reads all records before it."""
    cuts = 0
    for path in event_files(run_dir):
        data = open(path, "rb").read()
        recs = read_records(data)
        last_start = recs[-1][0]
        before = [b for _, b in recs[:-1]]
        for cut in range(last_start, len(data)):
            got = [b for _, b in read_records(data[:cut])]
            assert got == before, f"{path} cut at byte {cut}: read {len(got)} records, want {len(before)}"
            for b in got:
                pb.Event.FromString(b)  # and each one still parses
            cuts += 1
        # A damaged byte inside a complete record is an error, not a silent skip.
        bad = bytearray(data)
        bad[last_start + 12] ^= 0xFF
        try:
            read_records(bytes(bad))
            raise AssertionError("a flipped data byte went unnoticed")
        except DataLoss:
            pass
    print(f"check_events: {cuts} cut positions inside last records: every earlier record reads")


def main():
    protoc, run_dir = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        pb = compile_proto(protoc, tmp)
        if "--truncate" in sys.argv[3:]:
            check_truncation(pb, run_dir)
        else:
            check_run(pb, run_dir)


if __name__ == "__main__":
    main()
