#!/usr/bin/python3
"""Dumps PyTorch's nn.RNN / nn.LSTM / nn.GRU (and cells) outputs and every
gradient, in float32, for the configurations tests/rnn_test.cpp checks, into
tests/data/rnn_reference.safetensors; and an LSTM state_dict as PyTorch saves
it (tests/data/torch_lstm.safetensors) with an input and PyTorch's output
(tests/data/torch_lstm_io.safetensors). Run with Debian's python3-torch:

    /usr/bin/python3 scripts/gen_rnn_reference.py

Each case k: its parameters under "k.p.<PyTorch name>", the input "k.x",
initial states "k.h0"/"k.c0" (when given), lengths "k.lengths" (int64, when
the batch is packed with pack_padded_sequence, enforce_sorted=False), random
weights "k.gout"/"k.ghn"/"k.gcn", PyTorch's "k.out"/"k.hn"/"k.cn", and the
gradients of sum(out*gout) + sum(hn*ghn) + sum(cn*gcn) as "k.grad.<name>".
The metadata "k" says "MODE layers bidirectional batch_first bias init lengths"
for a layer, or "CELL MODE bias init" for a cell.
"""
import json, os, struct
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(20261201)
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")

DT = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
WIDTH = {torch.float32: 4, torch.float64: 8, torch.int64: 8}


def save_safetensors(path, tensors, metadata=None):
    """The reference writer's layout: widest dtype first, then by name; header padded to 8."""
    order = sorted(tensors, key=lambda k: (-WIDTH[tensors[k].dtype], k))
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for k in order:
        t = tensors[k].detach().contiguous()
        b = t.numpy().tobytes()
        header[k] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


MODES = {"RNN_TANH": (torch.nn.RNN, {"nonlinearity": "tanh"}), "RNN_RELU": (torch.nn.RNN, {"nonlinearity": "relu"}),
         "LSTM": (torch.nn.LSTM, {}), "GRU": (torch.nn.GRU, {})}
T, N, I, H = 5, 3, 4, 6


def layer_case(out, meta, k, mode, layers, bidir, batch_first, bias, init, lengths):
    cls, kw = MODES[mode]
    m = cls(I, H, num_layers=layers, bidirectional=bidir, batch_first=batch_first, bias=bias, **kw)
    D = 2 if bidir else 1
    x = torch.randn((N, T, I) if batch_first else (T, N, I), requires_grad=True)
    h0 = torch.randn(D * layers, N, H, requires_grad=True) if init else None
    c0 = torch.randn(D * layers, N, H, requires_grad=True) if init and mode == "LSTM" else None
    state = (h0, c0) if mode == "LSTM" and init else h0
    if lengths is not None:
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        y, st = m(packed, state)
        y, _ = pad_packed_sequence(y, batch_first=batch_first, total_length=T)
    else:
        y, st = m(x, state)
    hn, cn = st if mode == "LSTM" else (st, None)
    gout, ghn = torch.randn_like(y), torch.randn_like(hn)
    loss = (y * gout).sum() + (hn * ghn).sum()
    if cn is not None:
        gcn = torch.randn_like(cn)
        loss = loss + (cn * gcn).sum()
        out[f"{k}.gcn"], out[f"{k}.cn"] = gcn, cn
    loss.backward()
    out.update({f"{k}.x": x, f"{k}.gout": gout, f"{k}.ghn": ghn, f"{k}.out": y, f"{k}.hn": hn,
                f"{k}.grad.x": x.grad})
    if lengths is not None:
        out[f"{k}.lengths"] = torch.tensor(lengths, dtype=torch.int64)
    for name, t in [("h0", h0), ("c0", c0)]:
        if t is not None:
            out[f"{k}.{name}"], out[f"{k}.grad.{name}"] = t, t.grad
    for name, p in m.named_parameters():
        out[f"{k}.p.{name}"], out[f"{k}.grad.{name}"] = p, p.grad
    meta[k] = f"{mode} {layers} {int(bidir)} {int(batch_first)} {int(bias)} {int(init)} {int(lengths is not None)}"


def cell_case(out, meta, k, mode, bias, init):
    cls = {"RNN_TANH": lambda: torch.nn.RNNCell(I, H, bias=bias), "RNN_RELU": lambda: torch.nn.RNNCell(I, H, bias=bias, nonlinearity="relu"),
           "LSTM": lambda: torch.nn.LSTMCell(I, H, bias=bias), "GRU": lambda: torch.nn.GRUCell(I, H, bias=bias)}[mode]
    m = cls()
    x = torch.randn(N, I, requires_grad=True)
    h0 = torch.randn(N, H, requires_grad=True) if init else None
    c0 = torch.randn(N, H, requires_grad=True) if init and mode == "LSTM" else None
    if mode == "LSTM":
        hn, cn = m(x, (h0, c0) if init else None)
    else:
        hn, cn = m(x, h0), None
    ghn = torch.randn_like(hn)
    loss = (hn * ghn).sum()
    if cn is not None:
        gcn = torch.randn_like(cn)
        loss = loss + (cn * gcn).sum()
        out[f"{k}.gcn"], out[f"{k}.cn"] = gcn, cn
    loss.backward()
    out.update({f"{k}.x": x, f"{k}.ghn": ghn, f"{k}.hn": hn, f"{k}.grad.x": x.grad})
    for name, t in [("h0", h0), ("c0", c0)]:
        if t is not None:
            out[f"{k}.{name}"], out[f"{k}.grad.{name}"] = t, t.grad
    for name, p in m.named_parameters():
        out[f"{k}.p.{name}"], out[f"{k}.grad.{name}"] = p, p.grad
    meta[k] = f"CELL {mode} {int(bias)} {int(init)}"


def main():
    out, meta = {}, {}
    cases = [  # mode, layers, bidirectional, batch_first, bias, initial state, lengths
        ("LSTM", 1, False, False, True, False, None),
        ("LSTM", 2, False, False, True, True, None),
        ("LSTM", 2, True, True, True, True, None),
        ("LSTM", 1, True, False, False, False, None),
        ("LSTM", 2, True, False, True, True, [5, 2, 4]),
        ("LSTM", 1, False, True, True, False, [3, 5, 1]),
        ("GRU", 1, False, False, True, False, None),
        ("GRU", 2, True, True, True, True, None),
        ("GRU", 2, True, False, True, True, [4, 5, 2]),
        ("RNN_TANH", 2, False, False, True, True, None),
        ("RNN_TANH", 1, True, True, True, False, [2, 5, 3]),
        ("RNN_RELU", 2, True, False, True, True, None),
    ]
    for k, c in enumerate(cases):
        layer_case(out, meta, f"case{k}", *c)
    for k, c in enumerate([("LSTM", True, True), ("LSTM", False, False), ("GRU", True, True), ("GRU", True, False),
                           ("RNN_TANH", True, True), ("RNN_RELU", False, True)]):
        cell_case(out, meta, f"cell{k}", *c)
    save_safetensors(os.path.join(DATA, "rnn_reference.safetensors"), out, meta)

    # An LSTM state_dict as PyTorch users save it, and what it computes.
    m = torch.nn.LSTM(3, 7, num_layers=2, bidirectional=True, batch_first=True)
    save_safetensors(os.path.join(DATA, "torch_lstm.safetensors"), dict(m.state_dict()),
                     {"arch": "LSTM(3, 7, num_layers=2, batch_first=True, bidirectional=True)"})
    x = torch.randn(2, 6, 3)
    with torch.no_grad():
        y, (hn, cn) = m(x)
    save_safetensors(os.path.join(DATA, "torch_lstm_io.safetensors"), {"x": x, "out": y, "hn": hn, "cn": cn})
    print(f"wrote {len(out)} tensors for {len(meta)} cases; torch {torch.__version__}")


if __name__ == "__main__":
    main()
