#!/usr/bin/python3
"""Dumps PyTorch's forward values and input gradients for the op table's cases
into tests/data/op_reference.txt, so the C++ tests compare against PyTorch
without needing it. Run with Debian's python3-torch:

    /usr/bin/python3 scripts/gen_op_reference.py

Each case: inputs (float64 unless an index or mask), a random grad_output,
PyTorch's output and the gradient of sum(output * grad_output) w.r.t. every
input that requires grad. The C++ row with the same op name must compute the
same function (tests/op_table_test.cpp).
"""
import os
import torch
import torch.nn.functional as F

torch.manual_seed(20261128)
D = torch.float64


def randn(*s):
    return ("f", torch.randn(s, dtype=D), True)


def positive(*s):  # log, sqrt, pow bases
    return ("f", torch.rand(s, dtype=D) * 1.5 + 0.5, True)


def kink_free(*s):  # at least 0.1 away from 0: relu, abs, leaky_relu, sign-like kinks
    x = torch.randn(s, dtype=D)
    return ("f", torch.sign(x) * (x.abs() + 0.1), True)


def distinct(*s):  # no ties: max/min/amax
    n = 1
    for d in s:
        n *= d
    return ("f", (torch.randperm(n).to(D) * 0.37 - 1.0 + 0.01 * torch.rand(n, dtype=D)).reshape(*s), True)


def values(v):
    return ("f", torch.tensor(v, dtype=D), True)


def const(t):  # a float input that does not require grad
    return ("f", t[1], False)


def index(high, *s):
    return ("i", torch.randint(0, high, s), False)


def index_values(v):
    return ("i", torch.tensor(v, dtype=torch.int64), False)


def mask(*s):
    return ("b", torch.rand(s) > 0.5, False)


CASES = []


def case(op, variant, fn, inputs):
    CASES.append((op, f"{op}/{variant}", fn, inputs))


# ---- binary, broadcasting ----
for op, fn in [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul), ("maximum", torch.maximum),
               ("minimum", torch.minimum)]:
    gen = distinct if op in ("maximum", "minimum") else randn
    case(op, "same", fn, [gen(3, 4), gen(3, 4)])
    case(op, "broadcast", fn, [gen(2, 3, 4), gen(4)])
    case(op, "broadcast_both", fn, [gen(3, 1), gen(1, 4)])
    case(op, "size1", fn, [gen(1, 1), gen(2, 1)])
    case(op, "empty", fn, [gen(0, 3), gen(3)])
case("div", "same", torch.div, [randn(3, 4), kink_free(3, 4)])
case("div", "broadcast", torch.div, [randn(2, 3), kink_free(3)])
case("add_alpha", "broadcast", lambda a, b: torch.add(a, b, alpha=2.5), [randn(3, 4), randn(4)])
case("sub_alpha", "broadcast", lambda a, b: torch.sub(a, b, alpha=-0.5), [randn(3, 4), randn(3, 1)])
case("pow", "tensor", torch.pow, [positive(3, 4), randn(3, 4)])
case("pow", "broadcast", torch.pow, [positive(2, 3), randn(3)])
case("pow_scalar", "cube", lambda a: a ** 3, [randn(3, 4)])
case("pow_scalar_half", "positive", lambda a: a ** 0.5, [positive(5)])
case("mul_scalar", "basic", lambda a: a * 2.5 - 1.0, [randn(2, 3)])
case("rdiv_scalar", "basic", lambda a: 2.0 / a, [kink_free(2, 3)])
case("mul_expand", "expanded", lambda a, b: a.expand(3, 4) * b, [randn(1, 4), randn(3, 4)])
case("where", "broadcast", torch.where, [mask(3, 4), randn(3, 4), randn(4)])
case("maximum", "ties", torch.maximum, [values([1.0, 2.0, 3.0]), values([1.0, 0.0, 3.0])])
case("minimum", "ties", torch.minimum, [values([[1.0, 2.0], [0.5, -1.0]]), values([1.0, -1.0])])

# ---- unary ----
unary = [("neg", torch.neg, randn), ("exp", torch.exp, randn), ("log", torch.log, positive),
         ("sqrt", torch.sqrt, positive), ("rsqrt", torch.rsqrt, positive), ("abs", torch.abs, kink_free),
         ("sin", torch.sin, randn), ("cos", torch.cos, randn), ("tanh", torch.tanh, randn),
         ("sigmoid", torch.sigmoid, randn), ("erf", torch.erf, randn), ("relu", torch.relu, kink_free),
         ("leaky_relu", lambda x: F.leaky_relu(x, 0.1), kink_free), ("gelu", F.gelu, randn),
         ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), randn),
         ("clamp", lambda x: torch.clamp(x, -0.5, 0.7), kink_free), ("clamp_min", lambda x: torch.clamp(x, min=0.2), kink_free)]
for op, fn, gen in unary:
    case(op, "2d", fn, [gen(3, 4)])
    case(op, "3d", fn, [gen(2, 3, 2)])
    case(op, "0d", fn, [gen()])
    case(op, "empty", fn, [gen(2, 0)])
case("sigmoid", "large", torch.sigmoid, [values([-40.0, -5.0, 0.0, 5.0, 40.0])])
# Kinks: the finite difference is meaningless there, so these rows check
# PyTorch's gradient convention instead (knob: kink = True in the C++ table).
case("relu", "kink", torch.relu, [values([-1.0, 0.0, 2.0])])
case("abs", "kink", torch.abs, [values([-1.0, 0.0, 2.0])])
case("leaky_relu", "kink", lambda x: F.leaky_relu(x, 0.1), [values([-1.0, 0.0, 2.0])])
case("clamp", "kink", lambda x: torch.clamp(x, -0.5, 0.7), [values([-0.5, 0.0, 0.7, 1.0])])

# ---- reductions ----
case("sum", "all", torch.sum, [randn(3, 4)])
case("sum", "0d", torch.sum, [randn()])
case("sum", "empty", torch.sum, [randn(0, 3)])
case("sum_dims", "dim0", lambda x: torch.sum(x, [0]), [randn(3, 4)])
case("sum_dims", "dims02_keepdim", lambda x: torch.sum(x, [0, 2], keepdim=True), [randn(2, 3, 4)])
case("sum_dims", "negative", lambda x: torch.sum(x, [-1]), [randn(2, 3, 4)])
case("sum_dims", "empty_dim", lambda x: torch.sum(x, [1]), [randn(3, 0)])
case("mean", "all", torch.mean, [randn(3, 4)])
case("mean_dims", "dim1_keepdim", lambda x: torch.mean(x, [1], keepdim=True), [randn(3, 4)])
case("var", "dim1", lambda x: torch.var(x, 1), [randn(3, 5)])
case("var", "all", lambda x: torch.var(x), [randn(4, 3)])
case("std", "dim0_keepdim", lambda x: torch.std(x, 0, keepdim=True), [randn(4, 3)])
case("max_all", "distinct", torch.max, [distinct(3, 4)])
case("max_all", "ties", torch.max, [values([[1.0, 3.0], [3.0, -2.0]])])
case("min_all", "distinct", torch.min, [distinct(3, 4)])
case("max_dim", "dim1", lambda x: torch.max(x, 1).values, [distinct(3, 4)])
case("max_dim", "dim0_keepdim", lambda x: torch.max(x, 0, keepdim=True).values, [distinct(3, 4)])
case("max_dim", "ties", lambda x: torch.max(x, 1).values, [values([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])])
case("min_dim", "dim1", lambda x: torch.min(x, 1).values, [distinct(3, 4)])
case("amax", "dims", lambda x: torch.amax(x, [0, 2]), [distinct(2, 3, 4)])
case("amax", "ties", lambda x: torch.amax(x, [1]), [values([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])])
case("logsumexp", "dim1", lambda x: torch.logsumexp(x, [1]), [randn(3, 4)])
case("logsumexp", "large", lambda x: torch.logsumexp(x, [0], keepdim=True), [values([[1000.0, -1000.0], [1001.0, -999.0]])])
case("softmax", "dim1", lambda x: torch.softmax(x, 1), [randn(3, 4)])
case("softmax", "dim0_3d", lambda x: torch.softmax(x, 0), [randn(3, 2, 2)])
case("softmax", "large", lambda x: torch.softmax(x, -1), [values([[1000.0, 999.0, -1000.0]])])
case("log_softmax", "dim1", lambda x: torch.log_softmax(x, 1), [randn(3, 4)])
case("log_softmax", "large", lambda x: torch.log_softmax(x, 1), [values([[10000.0, 0.0, -10000.0]])])

# ---- matmul ----
case("matmul", "mm", torch.matmul, [randn(3, 4), randn(4, 5)])
case("matmul", "dot", torch.matmul, [randn(4), randn(4)])
case("matmul", "mv", torch.matmul, [randn(3, 4), randn(4)])
case("matmul", "vm", torch.matmul, [randn(4), randn(4, 2)])
case("matmul", "batched", torch.matmul, [randn(2, 3, 4), randn(2, 4, 2)])
case("matmul", "broadcast", torch.matmul, [randn(2, 1, 3, 4), randn(3, 4, 2)])
case("matmul", "batch_vec", torch.matmul, [randn(2, 3, 4), randn(4)])
case("matmul", "k1", torch.matmul, [randn(3, 1), randn(1, 2)])
case("matmul", "empty", torch.matmul, [randn(0, 3), randn(3, 2)])

# ---- joining and indexing ----
case("cat", "dim0", lambda a, b: torch.cat([a, b], 0), [randn(2, 3), randn(1, 3)])
case("cat", "dim1", lambda a, b: torch.cat([a, b], 1), [randn(2, 3), randn(2, 2)])
case("stack", "dim1", lambda a, b: torch.stack([a, b], 1), [randn(2, 3), randn(2, 3)])
case("index_select", "dim0", lambda x, i: torch.index_select(x, 0, i), [randn(4, 3), index_values([3, 0, 3])])
case("index_select", "dim1", lambda x, i: torch.index_select(x, 1, i), [randn(2, 4), index_values([1, 2])])
case("gather", "dim1", lambda x, i: torch.gather(x, 1, i), [randn(3, 4), index(4, 3, 2)])
case("gather", "dim0", lambda x, i: torch.gather(x, 0, i), [randn(3, 4), index(3, 2, 4)])
case("scatter_add", "dim0", lambda x, i, s: torch.scatter_add(x, 0, i, s), [randn(3, 4), index(3, 2, 4), randn(2, 4)])
case("index_add", "dim0", lambda x, i, s: torch.index_add(x, 0, i, s), [randn(4, 3), index_values([1, 3, 1]), randn(3, 3)])

case("sign", "2d", torch.sign, [kink_free(3, 4)])
case("sum_to", "broadcast", lambda x: x.sum_to_size(3, 1), [randn(2, 3, 4)])
case("slice_backward", "step2", lambda g: torch.ops.aten.slice_backward(g, [3, 6], 1, 1, 5, 2), [randn(3, 2)])

# ---- views and copies ----
case("view", "split", lambda x: x.view(2, 6), [randn(3, 4)])
case("reshape", "merge", lambda x: x.reshape(-1), [randn(2, 3, 2)])
case("flatten", "1", lambda x: x.flatten(1), [randn(2, 3, 2)])
case("transpose", "01", lambda x: x.transpose(0, 1), [randn(3, 4)])
case("mT", "3d", lambda x: x.mT, [randn(2, 3, 4)])
case("permute", "201", lambda x: x.permute(2, 0, 1), [randn(2, 3, 4)])
case("squeeze", "all", lambda x: x.squeeze(), [randn(3, 1, 4, 1)])
case("squeeze_dim", "1", lambda x: x.squeeze(1), [randn(3, 1, 4)])
case("unsqueeze", "1", lambda x: x.unsqueeze(1), [randn(3, 4)])
case("expand", "2d", lambda x: x.expand(2, 3, 4), [randn(3, 1)])
case("narrow", "dim1", lambda x: x.narrow(1, 1, 2), [randn(3, 4)])
case("slice_step", "dim1", lambda x: x[:, 1:5:2], [randn(3, 6)])
case("select", "dim1", lambda x: x.select(1, 2), [randn(3, 4)])
case("select", "negative", lambda x: x.select(0, -1), [randn(3, 4)])
case("clone", "basic", lambda x: x.clone(), [randn(3, 4)])
case("contiguous_t", "basic", lambda x: x.t().contiguous(), [randn(3, 4)])
case("to_float32", "roundtrip", lambda x: x.to(torch.float32).to(torch.float64), [values([0.25, -1.5, 2.0])])

# ---- nn ops (float64 reference kernels; tests/onednn_test.cpp checks float32 oneDNN against them) ----
case("linear", "bias", F.linear, [randn(4, 3), randn(5, 3), randn(5)])
case("linear", "batched", F.linear, [randn(2, 3, 4), randn(2, 4), randn(2)])
case("linear_nobias", "basic", lambda x, w: F.linear(x, w), [randn(3, 4), randn(2, 4)])
case("conv2d", "basic", lambda x, w, b: F.conv2d(x, w, b), [randn(2, 2, 5, 5), randn(3, 2, 3, 3), randn(3)])
case("conv2d_s2p1", "basic", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [randn(1, 2, 6, 5), randn(2, 2, 3, 3), randn(2)])
case("conv2d_dil2", "basic", lambda x, w: F.conv2d(x, w, dilation=2, padding=(1, 2)), [randn(1, 1, 7, 6), randn(2, 1, 3, 2)])
case("conv2d_groups2", "basic", lambda x, w, b: F.conv2d(x, w, b, groups=2), [randn(2, 4, 4, 4), randn(4, 2, 2, 2), randn(4)])
case("conv2d_1x1", "batch1", lambda x, w: F.conv2d(x, w), [randn(1, 3, 2, 3), randn(4, 3, 1, 1)])
case("conv2d_input_grad", "s2p1", lambda g, w: torch.nn.grad.conv2d_input((1, 2, 6, 5), w, g, stride=2, padding=1),
     [randn(1, 3, 3, 3), randn(3, 2, 3, 3)])
case("conv2d_weight_grad", "groups2", lambda x, g: torch.nn.grad.conv2d_weight(x, (4, 2, 2, 2), g, groups=2),
     [randn(2, 4, 4, 4), randn(2, 4, 3, 3)])
case("avg_pool2d_backward", "p1", lambda g: torch.ops.aten.avg_pool2d_backward(
    g, torch.zeros(1, 2, 5, 5, dtype=D), [3, 3], [2, 2], [1, 1], False, True, None), [randn(1, 2, 3, 3)])
case("max_pool2d", "k2", lambda x: F.max_pool2d(x, 2), [distinct(2, 2, 4, 6)])
case("max_pool2d_s1p1", "k3", lambda x: F.max_pool2d(x, 3, 1, 1), [distinct(1, 2, 5, 5)])
case("max_pool2d_ceil", "k2s2", lambda x: F.max_pool2d(x, 2, 2, ceil_mode=True), [distinct(1, 1, 5, 5)])
case("max_pool2d_dil", "k2d2", lambda x: F.max_pool2d(x, 2, 1, 0, dilation=2), [distinct(1, 1, 5, 6)])
case("avg_pool2d", "k2", lambda x: F.avg_pool2d(x, 2), [randn(2, 2, 4, 6)])
case("avg_pool2d_p1", "include_pad", lambda x: F.avg_pool2d(x, 3, 2, 1), [randn(1, 2, 5, 5)])
case("avg_pool2d_p1_exclude", "exclude_pad", lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [randn(1, 2, 5, 5)])
case("avg_pool2d_ceil", "include_pad", lambda x: F.avg_pool2d(x, 2, 2, 1, ceil_mode=True), [randn(1, 1, 4, 5)])
case("adaptive_avg_pool2d", "1x1", lambda x: F.adaptive_avg_pool2d(x, 1), [randn(2, 3, 4, 5)])
case("adaptive_avg_pool2d_2x3", "uneven", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [randn(1, 2, 5, 7)])
case("batch_norm_train", "4d", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [randn(3, 2, 2, 3), randn(2), randn(2)])
case("batch_norm_train", "2d", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [randn(5, 3), randn(3), randn(3)])
case("batch_norm_eval", "4d", lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b, training=False),
     [randn(2, 3, 2, 2), const(randn(3)), const(positive(3)), randn(3), randn(3)])
case("dropout_eval", "identity", lambda x: F.dropout(x, 0.5, training=False), [randn(3, 4)])

# ---- losses ----
case("cross_entropy", "basic", lambda x, y: F.cross_entropy(x, y), [randn(4, 5), index(5, 4)])
case("cross_entropy_opts", "weight_smoothing_ignore",
     lambda x, y, w: F.cross_entropy(x, y, weight=w, ignore_index=2, label_smoothing=0.1),
     [randn(6, 4), index_values([0, 2, 1, 3, 2, 1]), const(positive(4))])
case("cross_entropy_sum", "large_logits", lambda x, y: F.cross_entropy(x, y, reduction="sum"),
     [values([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]]), index_values([2, 0])])
case("nll_loss", "weight", lambda x, y, w: F.nll_loss(x, y, weight=w), [randn(5, 3), index(3, 5), const(positive(3))])
case("nll_loss_none", "basic", lambda x, y: F.nll_loss(x, y, reduction="none"), [randn(4, 3), index(3, 4)])
case("mse_loss", "basic", F.mse_loss, [randn(3, 4), randn(3, 4)])
case("mse_loss_sum", "basic", lambda a, b: F.mse_loss(a, b, reduction="sum"), [randn(5), randn(5)])
case("l1_loss", "basic", F.l1_loss, [kink_free(3, 4), const(values([[0.0] * 4] * 3))])
case("binary_cross_entropy", "basic", F.binary_cross_entropy,
     [("f", torch.rand(6, dtype=D) * 0.8 + 0.1, True), const(("f", torch.rand(6, dtype=D), False))])
case("bce_with_logits", "basic", F.binary_cross_entropy_with_logits, [randn(3, 4), const(("f", torch.rand(3, 4, dtype=D), False))])
case("bce_with_logits_pos", "pos_weight_large",
     lambda x, y, p: F.binary_cross_entropy_with_logits(x, y, pos_weight=p),
     [values([[50.0, -50.0, 0.5], [-1.0, 2.0, 30.0]]), const(("f", torch.tensor([[1.0, 0.0, 0.5], [0.0, 1.0, 1.0]], dtype=D), False)),
      const(values([2.0, 0.5, 1.0]))])

# ---- composite expressions (several ops, one graph) ----
case("mlp_layer", "small", lambda x, w, b: torch.tanh(x @ w.t() + b).sum(1), [randn(4, 3), randn(2, 3), randn(2)])
case("mse", "basic", lambda a, b: ((a - b) ** 2).mean(), [randn(3, 4), const(randn(3, 4))])
case("cross_entropy_like", "basic", lambda x, y: -torch.log_softmax(x, 1).gather(1, y).mean(),
     [randn(4, 5), index(5, 4, 1)])
# relu's backward as its own op (x only selects; its gradient is zero in PyTorch too)
case("threshold_backward", "relu", lambda g, x: torch.ops.aten.threshold_backward(g, x, 0.0),
     [randn(3, 4), const(kink_free(3, 4))])
# the unweighted nll_loss (one fused node): mean with an ignored row, and sum
case("nll_loss_mean", "ignore", lambda x, y: F.nll_loss(x, y, ignore_index=1), [randn(5, 3), index_values([0, 1, 2, 1, 0])])
case("nll_loss_sum", "basic", lambda x, y: F.nll_loss(x, y, reduction="sum"), [randn(4, 3), index(3, 4)])


def tensor_line(tag, kind, t, requires_grad):
    """One tensor as a line: tag kind requires_grad ndim dims... count values..."""
    shape = list(t.shape)
    t = t.detach().reshape(-1)
    vals = ["1" if v else "0" for v in t.tolist()] if t.dtype == torch.bool else [repr(float(v)) for v in t.tolist()]
    return f"{tag} {kind} {int(requires_grad)} {len(shape)} {' '.join(map(str, shape))} {len(vals)} {' '.join(vals)}"


def main():
    out = ["# Generated by scripts/gen_op_reference.py with PyTorch " + torch.__version__ + ": do not edit.",
           "# Per case: 'case OP NAME', one 'input' line per input, 'grad_output', 'output', one 'grad' line",
           "# per input ('grad none' when it needs none), 'end'. A tensor line is:",
           "# TAG KIND(f|i|b) REQUIRES_GRAD NDIM DIMS... COUNT VALUES..."]
    for op, name, fn, inputs in CASES:
        xs = []
        for kind, t, rg in inputs:
            t = t.clone()
            if rg:
                t.requires_grad_()
            xs.append(t)
        y = fn(*xs)
        g = torch.randn(y.shape, dtype=D)
        wrt = [x for (kind, _, rg), x in zip(inputs, xs) if rg]
        grads = iter(torch.autograd.grad(y, wrt, g, allow_unused=True) if wrt else [])
        out.append(f"case {op} {name}")
        for (kind, _, rg), x in zip(inputs, xs):
            out.append(tensor_line("input", kind, x, rg))
        out.append(tensor_line("grad_output", "f", g, False))
        out.append(tensor_line("output", "f", y, False))
        for (kind, _, rg), x in zip(inputs, xs):
            if rg:
                gr = next(grads)
                out.append(tensor_line("grad", "f", torch.zeros_like(x) if gr is None else gr, False))
            else:
                out.append("grad none")
        out.append("end")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "op_reference.txt")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(path + ".tmp", path)
    print(f"wrote {len(CASES)} cases to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
