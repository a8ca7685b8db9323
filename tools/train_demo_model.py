#!/usr/bin/env python3
"""Train Glassbox's demo model: a small CNN on Fashion-MNIST, exported to ONNX.

What it produces (all paths relative to the repository root):
  models/fashion-mnist-cnn.onnx        ONNX (opset 13), input "input" float32 [batch,1,28,28]
                                       with pixels scaled x/255 into [0,1] (no normalisation),
                                       output "logits" float32 [batch,10] (no softmax).
                                       Ops: Conv, Relu, MaxPool, Flatten, Gemm only.
  models/fashion-mnist-cnn.json        class names, input shape, scaling, test accuracy, ...
  models/samples/NN-<class>.png        first test-set image of each class 0..9, 8-bit grayscale 28x28
  models/samples/samples.npy           the same ten images, float32 [10,1,28,28] in [0,1]
  models/samples/labels.npy            their labels, int64 [10] (= 0..9)
  models/samples/expected_logits.npy   the PyTorch model's logits on samples.npy, float32 [10,10]
  models/samples/README.md             what the samples are

How to run (from the repository root, takes a few minutes on 2 CPU cores):
  /usr/bin/python3 tools/train_demo_model.py

Requirements (Debian packages, no network access needed):
  python3-torch python3-onnx python3-numpy dataset-fashion-mnist
The Fashion-MNIST idx files are read from /usr/share/datasets/fashion-mnist
(override with the environment variable FASHION_MNIST_DIR).

The script is deterministic (fixed seeds, single-process CPU training, deterministic
algorithms) and idempotent: it overwrites its outputs on every run.
"""

import json
import os
import struct
import sys
import time
import zlib

import numpy as np
import onnx
import torch
from torch import nn

from fashion_mnist import read_idx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_DIR = os.path.join(ROOT, "models")
SAMPLE_DIR = os.path.join(MODEL_DIR, "samples")
ONNX_PATH = os.path.join(MODEL_DIR, "fashion-mnist-cnn.onnx")
JSON_PATH = os.path.join(MODEL_DIR, "fashion-mnist-cnn.json")

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
EPOCHS = 12
BATCH = 128
LR = 1e-3
SEED = 0
ALLOWED_OPS = {"Conv", "Relu", "MaxPool", "Flatten", "Gemm"}


def load_split(prefix):
    images = read_idx(f"{prefix}-images-idx3-ubyte")
    labels = read_idx(f"{prefix}-labels-idx1-ubyte")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)  # [N,1,28,28]
    y = torch.from_numpy(labels.astype(np.int64))
    return images, x, y


class FashionCNN(nn.Module):
    """conv1 -> relu1 -> pool1 -> conv2 -> relu2 -> pool2 -> flatten -> fc1 -> relu3 -> fc2."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.flatten(x)
        x = self.relu3(self.fc1(x))
        return self.fc2(x)


@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def slug(name):
    out = "".join(c.lower() if c.isalnum() else "-" for c in name)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


def write_png_gray8(path, img):
    """Minimal PNG writer: 8-bit grayscale, no interlace (pure python + zlib)."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))  # filter type 0 per row

    def chunk(tag, payload):
        return (struct.pack(">I", len(payload)) + tag + payload
                + struct.pack(">I", zlib.crc32(tag + payload) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9))
           + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


def main():
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True)
    os.makedirs(SAMPLE_DIR, exist_ok=True)

    _, x_train, y_train = load_split("train")
    test_images, x_test, y_test = load_split("t10k")
    print(f"train {tuple(x_train.shape)}, test {tuple(x_test.shape)}, torch {torch.__version__}")

    model = FashionCNN()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)

    t_start = time.time()
    acc = 0.0
    for epoch in range(1, EPOCHS + 1):
        t0 = time.time()
        model.train()
        perm = torch.randperm(len(x_train), generator=gen)
        total_loss = 0.0
        for i in range(0, len(perm), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            total_loss += loss.item() * len(idx)
        acc = evaluate(model, x_test, y_test)
        print(f"epoch {epoch:2d}: loss {total_loss / len(perm):.4f}  test acc {acc:.4f}  "
              f"({time.time() - t0:.1f} s)", flush=True)
    train_seconds = time.time() - t_start
    print(f"training took {train_seconds:.1f} s, final test accuracy {acc:.4f}")
    if acc < 0.90:
        print("WARNING: test accuracy below 0.90", file=sys.stderr)

    model.eval()

    # --- ONNX export -------------------------------------------------------------
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(model, dummy, ONNX_PATH, opset_version=13, do_constant_folding=True,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    m = onnx.load(ONNX_PATH)
    onnx.checker.check_model(m)
    ops = [n.op_type for n in m.graph.node]
    print("ONNX ops:", ops)
    for n in m.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        print(f"  {n.name}: {n.op_type} {list(n.input)} -> {list(n.output)} {attrs}")
    bad = set(ops) - ALLOWED_OPS
    if bad:
        raise SystemExit(f"unexpected ONNX ops {sorted(bad)}")
    size = os.path.getsize(ONNX_PATH)
    print(f"{ONNX_PATH}: {size} bytes")
    assert size < 2 * 1024 * 1024

    # --- samples: first test image of each class -----------------------------------
    labels_np = y_test.numpy()
    indices = [int(np.nonzero(labels_np == c)[0][0]) for c in range(10)]
    for f in os.listdir(SAMPLE_DIR):
        if f.endswith(".png"):
            os.remove(os.path.join(SAMPLE_DIR, f))
    for c, i in enumerate(indices):
        write_png_gray8(os.path.join(SAMPLE_DIR, f"{c:02d}-{slug(CLASSES[c])}.png"), test_images[i])
    samples = x_test[indices].contiguous()
    labels = y_test[indices].contiguous()
    with torch.no_grad():
        expected = model(samples)
    np.save(os.path.join(SAMPLE_DIR, "samples.npy"), samples.numpy().astype(np.float32))
    np.save(os.path.join(SAMPLE_DIR, "labels.npy"), labels.numpy().astype(np.int64))
    np.save(os.path.join(SAMPLE_DIR, "expected_logits.npy"), expected.numpy().astype(np.float32))
    with open(os.path.join(SAMPLE_DIR, "README.md"), "w") as f:
        f.write("One Fashion-MNIST test image per class (class order 0..9), as 28x28 8-bit grayscale PNGs "
                "and as samples.npy (float32 [10,1,28,28], x/255), labels.npy and expected_logits.npy "
                "(PyTorch logits of models/fashion-mnist-cnn.onnx).\n"
                f"Source: the first image of each class in the Fashion-MNIST test set (t10k), "
                f"test-set indices {indices}; generated by tools/train_demo_model.py.\n")
    print("sample indices:", indices)
    print("sample predictions:", expected.argmax(1).tolist())

    meta = {
        "classes": CLASSES,
        "input_shape": [1, 28, 28],
        "scale": "x/255",
        "test_accuracy": round(acc, 4),
        "epochs": EPOCHS,
        "train_seconds": round(train_seconds, 1),
        "torch_version": torch.__version__,
    }
    with open(JSON_PATH, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
