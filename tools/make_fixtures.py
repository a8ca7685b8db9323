#!/usr/bin/env python3
"""Generate ONNX test fixtures with PyTorch reference results for Glassbox's Java tests.

For each small, randomly initialised model NAME (torch.manual_seed(1) before building each
model and drawing its input) this writes into testdata/torch/:
  NAME.onnx           ONNX opset 13, input "input", output "logits", static shapes
                      (batch of 3, no dynamic axes), do_constant_folding=True; Constant nodes
                      (the reshape target shape) are moved into initializers after export
  NAME_input.npy      float32 input batch (torch.randn, so values are negative too)
  NAME_logits.npy     float32 model output for that batch
  NAME_target.npy     int64 [3] target classes = [0,1,2] mod number-of-classes
  NAME_gradient.npy   float32, shape of the input: d/dx of sum_n logits[n, target[n]]
                      (i.e. per-sample gradient of each sample's own target logit)
  NAME_ig.npy         float32, shape of the input: integrated gradients, zero baseline,
                      32 steps, Riemann midpoint rule: alpha_k = (k+0.5)/32, k=0..31,
                      IG = x * mean_k grad(alpha_k * x)  (per sample, own target)
and testdata/torch/README.md describing them.

All references (logits, gradients, IG) are computed by autograd on a float64 copy of the
model (model.double()) and then stored as float32, so they are accurate to float32 rounding.

Models (see DESCRIPTIONS below for the newer ones: resnet_block, resnet_block_nobias, mobilenet_block):
  mlp          [3,20]: Linear(20,16) ReLU Linear(16,12) ReLU Linear(12,5)       -> Gemm
  mlp_matmul   [3,20]: x @ W1 + b1, ReLU, @ W2 + b2 (5 classes)                   -> MatMul + Add
  cnn          [3,3,12,12]: conv1 ReLU, grouped strided conv2 ReLU (= h),
               y = ReLU(dilated conv3(h)) + h, AvgPool2d(2) (count_include_pad=False,
               same values, avoids an exported Pad), 1x1 conv4 ReLU,
               MaxPool2d(2, stride 1), AdaptiveAvgPool2d(1), Flatten, Linear(16,6)
  cnn_reshape  [3,1,8,8]: Conv2d(1,4,3,p=1) ReLU MaxPool2d(2), x.reshape(3,64), Linear(64,4)

How to run (from the repository root, takes a few seconds):
  /usr/bin/python3 tools/make_fixtures.py

Requirements (Debian packages, no network access): python3-torch python3-onnx python3-numpy.
Deterministic and idempotent: every run overwrites the same files with the same content.
"""

import os

import numpy as np
import onnx
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "testdata", "torch")
SEED = 1
BATCH = 3
IG_STEPS = 32


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 16)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(16, 12)
        self.relu2 = nn.ReLU()
        self.fc3 = nn.Linear(12, 5)

    def forward(self, x):
        return self.fc3(self.relu2(self.fc2(self.relu1(self.fc1(x)))))


class MlpMatMul(nn.Module):
    """Same kind of MLP written with explicit parameters so the export has MatMul + Add."""

    def __init__(self):
        super().__init__()
        self.W1 = nn.Parameter(torch.randn(20, 16) / 20 ** 0.5)
        self.b1 = nn.Parameter(torch.randn(16) * 0.1)
        self.W2 = nn.Parameter(torch.randn(16, 5) / 16 ** 0.5)
        self.b2 = nn.Parameter(torch.randn(5) * 0.1)

    def forward(self, x):
        h = torch.relu(x @ self.W1 + self.b1)
        return h @ self.W2 + self.b2


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=1, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
        self.relu3 = nn.ReLU()
        # count_include_pad=False: identical result without padding, but torch 1.13's opset-11+
        # exporter would otherwise insert a (no-op) Pad + Constant before the AveragePool.
        self.pool1 = nn.AvgPool2d(2, count_include_pad=False)
        self.conv4 = nn.Conv2d(8, 16, 1)
        self.relu4 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(16, 6)

    def forward(self, x):                       # [3,3,12,12]
        x = self.relu1(self.conv1(x))           # [3,8,12,12]
        h = self.relu2(self.conv2(x))           # [3,8,6,6]
        y = self.relu3(self.conv3(h)) + h       # [3,8,6,6] residual Add
        y = self.pool1(y)                       # [3,8,3,3]
        y = self.relu4(self.conv4(y))           # [3,16,3,3]
        y = self.pool2(y)                       # [3,16,2,2]
        y = self.flatten(self.gap(y))           # [3,16]
        return self.fc(y)                       # [3,6]


class CnnReshape(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.fc = nn.Linear(64, 4)

    def forward(self, x):                       # [3,1,8,8]
        x = self.pool1(self.relu1(self.conv1(x)))  # [3,4,4,4]
        x = x.reshape(3, 64)                    # static Reshape
        return self.fc(x)


def randomize_batch_norms(model, zero_shift=False):
    """Eval-mode BatchNorms that do something: random scale, shift and running statistics.
    With zero_shift the shift beta - mean * scale is 0, so folding adds no bias."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.running_var.uniform_(0.5, 1.5)
                if zero_shift:
                    m.bias.zero_()
                    m.running_mean.zero_()
                else:
                    m.bias.normal_(0, 0.2)
                    m.running_mean.normal_(0, 0.2)


class ResNetBlock(nn.Module):
    """A stem and one basic residual block of ResNet, with BatchNorm after every conv."""

    def __init__(self, biases=True):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.conv3 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(8, 5, bias=biases)
        randomize_batch_norms(self, zero_shift=not biases)

    def forward(self, x):                       # [3,3,12,12]
        x = self.relu(self.bn1(self.conv1(x)))  # [3,8,12,12]
        y = self.relu(self.bn2(self.conv2(x)))
        y = self.bn3(self.conv3(y))
        x = self.relu(y + x)                    # residual Add
        return self.fc(self.flatten(self.gap(x)))


class ResNetBlockNoBias(ResNetBlock):
    def __init__(self):
        super().__init__(biases=False)


class MobileNetBlock(nn.Module):
    """A MobileNetV2 stem and inverted residual: ReLU6 (Clip), depthwise conv, BatchNorm."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
        self.expand = nn.Sequential(nn.Conv2d(8, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6())
        self.depthwise = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False), nn.BatchNorm2d(16),
                                       nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(16, 8, 1, bias=False), nn.BatchNorm2d(8))
        self.head = nn.Sequential(nn.Conv2d(8, 12, 1, bias=False), nn.BatchNorm2d(12), nn.ReLU6())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(12, 4))
        randomize_batch_norms(self)

    def forward(self, x):                       # [3,3,16,16]
        x = self.stem(x)                        # [3,8,8,8]
        x = x + self.project(self.depthwise(self.expand(x)))
        x = self.head(x)
        return self.classifier(self.flatten(self.gap(x)))


# name -> (constructor, input shape, allowed ONNX op types)
FIXTURES = [
    ("mlp", Mlp, (BATCH, 20), {"Gemm", "Relu"}),
    ("mlp_matmul", MlpMatMul, (BATCH, 20), {"MatMul", "Add", "Relu"}),
    ("cnn", Cnn, (BATCH, 3, 12, 12),
     {"Conv", "Relu", "Add", "AveragePool", "MaxPool", "GlobalAveragePool", "Flatten", "Gemm",
      "Reshape"}),
    ("cnn_reshape", CnnReshape, (BATCH, 1, 8, 8), {"Conv", "Relu", "MaxPool", "Reshape", "Gemm"}),
    ("resnet_block", ResNetBlock, (BATCH, 3, 12, 12),
     {"Conv", "BatchNormalization", "Relu", "Add", "GlobalAveragePool", "Flatten", "Gemm"}),
    ("resnet_block_nobias", ResNetBlockNoBias, (BATCH, 3, 12, 12),
     {"Conv", "BatchNormalization", "Relu", "Add", "GlobalAveragePool", "Flatten", "Gemm", "MatMul", "Identity"}),
    ("mobilenet_block", MobileNetBlock, (BATCH, 3, 16, 16),
     {"Conv", "BatchNormalization", "Clip", "Add", "GlobalAveragePool", "Flatten", "Gemm"}),
]


def target_logit_gradient(model, x, target):
    """d/dx sum_n model(x)[n, target[n]]  (float64 model and input)."""
    x = x.detach().clone().requires_grad_(True)
    logits = model(x)
    score = logits.gather(1, target.view(-1, 1)).sum()
    (grad,) = torch.autograd.grad(score, x)
    return grad


def integrated_gradients(model, x, target, steps=IG_STEPS):
    total = torch.zeros_like(x)
    for k in range(steps):
        alpha = (k + 0.5) / steps
        total += target_logit_gradient(model, alpha * x, target)
    return x * total / steps


def hoist_constants(model_proto):
    """Turn Constant nodes (torch 1.13 emits one for the shape operand of a static reshape)
    into graph initializers of the same name, so the graph only has compute ops."""
    graph = model_proto.graph
    keep = []
    for node in graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
            tensor = onnx.TensorProto()
            tensor.CopyFrom(node.attribute[0].t)
            tensor.name = node.output[0]
            graph.initializer.append(tensor)
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)
    return model_proto


def op_summary(model_proto):
    return [n.op_type for n in model_proto.graph.node]


def make_fixture(name, ctor, shape, allowed):
    torch.manual_seed(SEED)
    model = ctor().eval()
    x = torch.randn(*shape)
    path = os.path.join(OUT_DIR, f"{name}.onnx")
    # PRESERVE keeps each BatchNormalization as a node (EVAL would fold it into the conv).
    torch.onnx.export(model, x, path, opset_version=13, do_constant_folding=True,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=["input"], output_names=["logits"])
    proto = hoist_constants(onnx.load(path))
    onnx.checker.check_model(proto)
    onnx.save(proto, path)
    ops = op_summary(proto)
    print(f"{name}: ONNX ops {ops}")
    bad = set(ops) - allowed
    if bad:
        raise SystemExit(f"{name}: unexpected ONNX ops {sorted(bad)}")

    with torch.no_grad():
        logits32 = model(x)
    num_classes = logits32.shape[1]
    target = torch.tensor([0, 1, 2], dtype=torch.int64) % num_classes

    model64 = ctor()
    model64.load_state_dict(model.state_dict())
    model64 = model64.double().eval()
    x64 = x.double()
    with torch.no_grad():
        logits = model64(x64)
    grad = target_logit_gradient(model64, x64, target)
    ig = integrated_gradients(model64, x64, target)

    # sanity: float32 forward agrees with the float64 reference; IG completeness is approximate
    assert torch.allclose(logits32.double(), logits, atol=1e-5), name
    chosen = logits.gather(1, target.view(-1, 1)).squeeze(1)
    with torch.no_grad():
        base = model64(torch.zeros_like(x64)).gather(1, target.view(-1, 1)).squeeze(1)
    print(f"  logits {tuple(logits.shape)}, targets {target.tolist()}, "
          f"IG sum {ig.flatten(1).sum(1).tolist()} vs f(x)-f(0) {(chosen - base).tolist()}")

    np.save(os.path.join(OUT_DIR, f"{name}_input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT_DIR, f"{name}_logits.npy"), logits.numpy().astype(np.float32))
    np.save(os.path.join(OUT_DIR, f"{name}_target.npy"), target.numpy().astype(np.int64))
    np.save(os.path.join(OUT_DIR, f"{name}_gradient.npy"), grad.numpy().astype(np.float32))
    np.save(os.path.join(OUT_DIR, f"{name}_ig.npy"), ig.numpy().astype(np.float32))
    return ops, tuple(x.shape), tuple(logits.shape)


README_HEAD = """\
# PyTorch reference fixtures

Small randomly initialised PyTorch models (`torch.manual_seed(1)` before each model and its
input) exported to ONNX, with reference outputs, gradients and integrated gradients computed
by PyTorch autograd. Regenerate (deterministic, overwrites these files) with:

    /usr/bin/python3 tools/make_fixtures.py

(Debian packages python3-torch, python3-onnx, python3-numpy; torch {torch_version}, onnx {onnx_version}.)

## Conventions

- `NAME.onnx`: opset 13, `do_constant_folding=True`, input `input`, output `logits`,
  static shapes (batch of 3, no dynamic axes), no softmax. After export, `Constant` nodes
  (torch emits one for the static reshape's shape) are turned into int64 initializers of the
  same name, so the graphs contain only the ops listed below.
- `NAME_input.npy`: float32 input batch from `torch.randn` (has negative values).
- `NAME_logits.npy`: float32 model output `[3, classes]`.
- `NAME_target.npy`: int64 `[3]`, targets `[0, 1, 2] mod classes`.
- `NAME_gradient.npy`: float32, same shape as the input: d/dx of `sum_n logits[n, target[n]]`,
  i.e. each sample's gradient of its own target logit.
- `NAME_ig.npy`: float32, same shape as the input: integrated gradients with a zero baseline,
  32 steps, Riemann midpoint rule: `alpha_k = (k + 0.5) / 32` for `k = 0..31`,
  `IG = x * mean_k grad(alpha_k * x)`, per sample, own target.
- Logits, gradients and IG are computed on a float64 copy of the model (`model.double()`) and
  stored as float32.

## Fixtures

| name | input | output | ONNX ops | model |
|---|---|---|---|---|
"""

DESCRIPTIONS = {
    "mlp": "Linear(20,16) ReLU Linear(16,12) ReLU Linear(12,5)",
    "mlp_matmul": "`relu(x @ W1 + b1) @ W2 + b2`, W1 [20,16], W2 [16,5] (explicit parameters)",
    "cnn": "Conv2d(3,8,3,p=1) ReLU; Conv2d(8,8,3,s=2,p=1,groups=2) ReLU = h; "
           "y = ReLU(Conv2d(8,8,3,p=2,dilation=2)(h)) + h; AvgPool2d(2, count_include_pad=False); Conv2d(8,16,1) ReLU; "
           "MaxPool2d(2, stride=1); AdaptiveAvgPool2d(1); Flatten; Linear(16,6)",
    "cnn_reshape": "Conv2d(1,4,3,p=1) ReLU MaxPool2d(2); `x.reshape(3, 64)`; Linear(64,4)",
    "resnet_block": "Conv2d(3,8,3,p=1) BN ReLU = x; ReLU(BN(Conv2d(8,8,3,p=1)(ReLU(BN(Conv2d(8,8,3,p=1)(x))))) + x); "
                    "AdaptiveAvgPool2d(1); Flatten; Linear(8,5); no conv biases, random BN statistics",
    "resnet_block_nobias": "as resnet_block with BN shift 0 (beta = mean = 0) and Linear(8,5, bias=False): "
                           "BN folding leaves no bias anywhere",
    "mobilenet_block": "Conv2d(3,8,3,s=2,p=1) BN ReLU6 = x; x + BN(Conv1x1(16,8)(ReLU6(BN(depthwise Conv2d(16,16,3,p=1,"
                       "groups=16)(ReLU6(BN(Conv1x1(8,16)(x)))))))); Conv1x1(8,12) BN ReLU6; AdaptiveAvgPool2d(1); "
                       "Flatten; Dropout; Linear(12,4)",
}


def main():
    torch.set_num_threads(2)
    os.makedirs(OUT_DIR, exist_ok=True)
    rows = []
    for name, ctor, shape, allowed in FIXTURES:
        ops, in_shape, out_shape = make_fixture(name, ctor, shape, allowed)
        uniq = ", ".join(dict.fromkeys(ops))
        rows.append(f"| `{name}` | {list(in_shape)} | {list(out_shape)} | {uniq} | {DESCRIPTIONS[name]} |\n")
    with open(os.path.join(OUT_DIR, "README.md"), "w") as f:
        f.write(README_HEAD.format(torch_version=torch.__version__, onnx_version=onnx.__version__))
        f.writelines(rows)


if __name__ == "__main__":
    main()
