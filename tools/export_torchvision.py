#!/usr/bin/env python3
"""Export randomly initialised torchvision classifiers to ONNX for Glassbox's TorchvisionIT.

Usage (Debian's python3-torch and python3-torchvision; no network access):
  /usr/bin/python3 tools/export_torchvision.py OUT_DIR [NAME ...]

For each model NAME (all of them when none is named) this writes into OUT_DIR:
  NAME.onnx        ONNX opset 13 as torch.onnx.export writes it (eval mode, constant folding
                   on, nothing post-processed), input "input" [batch, 3, S, S] and output
                   "logits" [batch, 1000], with a dynamic batch axis on both
  NAME_input.npy   float32 [3, 3, S, S] (torch.randn): TorchvisionIT runs item 0 as batch 1
                   and all three as batch 3
and manifest.json (the script's SHA-256, torch and torchvision versions, per model: file
names, input size, export seconds). A model whose files exist and whose manifest entry was
written by this very script (same SHA-256) is not exported again, so repeated test runs cost
nothing; delete OUT_DIR to force a fresh export.

Models (torchvision 0.14, weights=None, then torch.manual_seed(SEED) before building each):
  resnet18       S = 64
  mobilenet_v2   S = 64
  densenet121    S = 64
  vgg11          S = 224: VGG's AdaptiveAvgPool2d((7, 7)) exports only when the feature map
                 (S / 32) is a multiple of 7, so 224 is the smallest size that exports
  resnet18_224   S = 224: resnet18 again (same seed, same weights), for load-time and heap
                 measurements at the usual ImageNet size

torchvision initialises BatchNorm as the identity (weight 1, bias 0, running mean 0, variance 1),
which would hide a wrongly mapped BatchNorm; so every BatchNorm gets random affine parameters
and running statistics (weight, var ~ U(0.5, 1.5); bias, mean ~ N(0, 0.1^2)) drawn from the
same seeded generator. The exporter folds BatchNorms that follow a convolution into it
(resnet18, mobilenet_v2); densenet121's pre-activation BatchNorms stay BatchNormalization nodes.
"""

import hashlib
import json
import os
import sys
import time

import numpy as np
import torch
import torchvision

SEED = 0
OPSET = 13
BATCH = 3
MODELS = {
    # name: (torchvision constructor, input size)
    "resnet18": ("resnet18", 64),
    "mobilenet_v2": ("mobilenet_v2", 64),
    "densenet121": ("densenet121", 64),
    "vgg11": ("vgg11", 224),
    "resnet18_224": ("resnet18", 224),
}


def script_hash():
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def build(ctor):
    torch.manual_seed(SEED)
    model = getattr(torchvision.models, ctor)(weights=None)
    g = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
    return model.eval()


def export(name, out_dir):
    ctor, size = MODELS[name]
    model = build(ctor)
    torch.manual_seed(SEED + 2)
    x = torch.randn(BATCH, 3, size, size)
    onnx_file = os.path.join(out_dir, name + ".onnx")
    with torch.no_grad():
        torch.onnx.export(model, x[:1], onnx_file, opset_version=OPSET, do_constant_folding=True,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    np.save(os.path.join(out_dir, name + "_input.npy"), x.numpy().astype(np.float32))
    return size


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    out_dir = argv[1]
    names = argv[2:] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        print("unknown model(s): " + ", ".join(unknown) + "; known: " + ", ".join(MODELS), file=sys.stderr)
        return 2
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    digest = script_hash()
    manifest_file = os.path.join(out_dir, "manifest.json")
    manifest = {}
    if os.path.exists(manifest_file):
        with open(manifest_file) as f:
            manifest = json.load(f)
    if manifest.get("script_sha256") != digest:
        manifest = {"script_sha256": digest, "torch": torch.__version__,
                    "torchvision": torchvision.__version__, "opset": OPSET, "seed": SEED, "models": {}}
    t_all = time.perf_counter()
    for name in names:
        files = [name + ".onnx", name + "_input.npy"]
        if name in manifest["models"] and all(os.path.exists(os.path.join(out_dir, f)) for f in files):
            print(f"{name}: up to date ({manifest['models'][name]['seconds']:.1f} s when exported)", flush=True)
            continue
        t0 = time.perf_counter()
        size = export(name, out_dir)
        seconds = time.perf_counter() - t0
        mb = os.path.getsize(os.path.join(out_dir, files[0])) / 1e6
        manifest["models"][name] = {"onnx": files[0], "input": files[1], "input_shape": [BATCH, 3, size, size],
                                    "seconds": round(seconds, 2)}
        with open(manifest_file, "w") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
        print(f"{name}: exported at {size}x{size} in {seconds:.1f} s ({mb:.1f} MB)", flush=True)
    print(f"total {time.perf_counter() - t_all:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
