#!/usr/bin/python3
"""Writes a small PyTorch model's state_dict as safetensors
(tests/data/torch_small_net.safetensors) and an input with PyTorch's output
(tests/data/torch_small_net_io.safetensors), so tests/nn_test.cpp can check
that weights trained in PyTorch load into the same model in Ember, by name
and layout, and give the same output. Run with Debian's python3-torch:

    /usr/bin/python3 scripts/gen_interop_reference.py

The safetensors files are written by hand (the format is 8 bytes of header
length, a JSON header, then raw little-endian data), as the safetensors
Python package is not in Debian bookworm.
"""
import json, os, struct
import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.bn1 = nn.BatchNorm2d(4)
        self.fc1 = nn.Linear(4 * 3 * 3, 5)
        self.fc2 = nn.Linear(5, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


def save(path, tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    dtypes = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64",
              torch.float16: "F16", torch.bfloat16: "BF16", torch.int32: "I32"}  # issue 10: the 16-bit floats, I32
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        data = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()  # numpy has no bfloat16
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(path + ".tmp", path)


def main():
    torch.manual_seed(3)
    net = SmallNet()
    net.train()
    for _ in range(3):  # move the batch norm's running statistics away from their defaults
        net(torch.randn(8, 1, 8, 8))
    net.eval()
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        y = net(x)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
    save(os.path.join(out, "torch_small_net.safetensors"), net.state_dict(), {"framework": "pytorch " + torch.__version__})
    save(os.path.join(out, "torch_small_net_io.safetensors"), {"input": x, "output": y})
    print("wrote", len(net.state_dict()), "tensors")
    # ---- issue 10 part A: the same model saved in half precision (model.half() / .bfloat16()), with the
    # output of the rounded weights computed in float32, and an int32 tensor ----
    for dtype, tag in [(torch.float16, "f16"), (torch.bfloat16, "bf16")]:
        low = SmallNet()
        low.load_state_dict(net.state_dict())
        low.to(dtype)
        rounded = SmallNet()
        rounded.load_state_dict({k: v.to(torch.float32) if v.is_floating_point() else v for k, v in low.state_dict().items()})
        rounded.eval()
        with torch.no_grad():
            y_low = rounded(x)
        save(os.path.join(out, f"torch_small_net_{tag}.safetensors"), low.state_dict(),
             {"framework": "pytorch " + torch.__version__, "output": " ".join(repr(v) for v in y_low.reshape(-1).tolist())})
    save(os.path.join(out, "torch_int32.safetensors"), {"counts": torch.tensor([[1, -2, 3], [2147483647, -2147483648, 0]], dtype=torch.int32)})


if __name__ == "__main__":
    main()
