"""Builds the ONNX fixtures under src/test/resources/ort: small PyTorch exports and hand-made
graphs covering the ops and attributes the loader maps, each with float32 inputs (.npy) for one
or two batch sizes. run_ort.py then stores ONNX Runtime's outputs next to them, and
OrtFixturesTest checks that the converted graph reproduces them.

Run with a Python that has torch and onnx (Debian: /usr/bin/python3), from bundles/onnx:
    /usr/bin/python3 src/test/python/make_fixtures.py src/test/resources/ort
"""
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else "src/test/resources/ort"
rng = np.random.default_rng(7)
torch.manual_seed(7)


def save_inputs(name, shapes):
    d = os.path.join(OUT, name)
    for i, shape in enumerate(shapes):
        np.save(os.path.join(d, "input_%d.npy" % i), rng.standard_normal(shape).astype(np.float32))


def export(name, module, item_shape, opset, batches=(2, 3), dynamic=True, static_batch=1):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    module.eval()
    # BatchNorm statistics that are not the identity
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    x = torch.randn(static_batch, *item_shape)
    kwargs = dict(input_names=["input"], output_names=["output"], opset_version=opset, do_constant_folding=False)
    if dynamic:
        kwargs["dynamic_axes"] = {"input": {0: "N"}, "output": {0: "N"}}
    torch.onnx.export(module, x, os.path.join(d, "model.onnx"), **kwargs)
    save_inputs(name, [(b, *item_shape) for b in (batches if dynamic else (static_batch,))])


def save_model(name, nodes, inputs, outputs, inits, opset, batches, item_shape, ir=7):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir
    onnx.save(model, os.path.join(d, "model.onnx"))
    save_inputs(name, [(b, *item_shape) for b in batches])


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def rand(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------- PyTorch exports


class CnnView(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(x.view(x.size(0), -1))


class ResBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(4)
        self.down = nn.Conv2d(4, 8, 1, stride=2)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        y = F.relu(x + y)
        y = self.down(y)
        y = F.adaptive_avg_pool2d(y, 1)
        return self.fc(torch.flatten(y, 1))


class MobileSE(nn.Module):
    def __init__(self):
        super().__init__()
        self.expand = nn.Conv2d(4, 8, 1)
        self.dw = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8)
        self.se1 = nn.Conv2d(8, 2, 1)
        self.se2 = nn.Conv2d(2, 8, 1)
        self.proj = nn.Conv2d(8, 6, 1)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        x = F.hardswish(self.expand(x))
        x = F.relu6(self.dw(x))
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.hardsigmoid(self.se2(F.relu(self.se1(s))))
        x = self.proj(x * s)
        x = x.mean([2, 3])
        return self.fc(self.drop(x))


class UNetish(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 8, 3, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.c3 = nn.Conv2d(8, 4, 3, padding=1)
        self.c4 = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        a = F.relu(self.c1(x))
        b = F.relu(self.c2(F.max_pool2d(a, 2)))
        u = self.up(b)
        y = F.relu(self.c3(torch.cat([a, u], 1)))
        y = F.interpolate(y, scale_factor=2, mode="nearest")
        return torch.sigmoid(self.c4(y))


class UpsampleSizes(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 2, 3, padding=1)

    def forward(self, x):
        y = self.c(x)
        return F.interpolate(y, size=(y.shape[2] * 2, 7), mode="nearest")


class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(3, 6, 5, stride=2, padding=2, dilation=1)
        self.bn = nn.BatchNorm1d(6)
        self.c2 = nn.Conv1d(6, 6, 3, padding=2, dilation=2, groups=3)
        self.fc = nn.Linear(6 * 4, 3)

    def forward(self, x):
        x = F.relu(self.bn(self.c1(x)))
        x = F.max_pool1d(x, 2)
        x = F.avg_pool1d(F.elu(self.c2(x)), 2, ceil_mode=True, count_include_pad=False)
        return self.fc(x.flatten(1))


class Activations(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(6, 8)
        self.prelu = nn.PReLU(8)
        self.l2 = nn.Linear(8, 8)
        self.l3 = nn.Linear(8, 5)

    def forward(self, x):
        x = self.prelu(self.l1(x))
        x = F.leaky_relu(self.l2(x), 0.1) + torch.tanh(x) * torch.sigmoid(x) - F.elu(x, 0.5)
        x = torch.clamp(x, -1.5, 2.0) / 2
        return F.log_softmax(self.l3(x), dim=-1)


class Shapes(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(4, 6, 1)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        y = self.c(x)  # [N, 6, 3, 5]
        b, c, h, w = y.shape
        t = y.permute(0, 2, 3, 1).reshape(b, h * w, c)  # [N, 15, 6]
        p, q = torch.split(t, [5, 10], dim=1)
        t = torch.cat([q, p * 2], dim=1)[:, 1:12]
        t = t.unsqueeze(1).squeeze(1)
        t = t.transpose(1, 2).mean(dim=2)
        return torch.softmax(self.fc(t), dim=1)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(8, 24)
        self.out = nn.Linear(8, 8)

    def forward(self, x):  # [N, 5, 8]
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, 2, c // 2).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = torch.softmax((q @ k.transpose(-2, -1)) * 0.5, dim=-1)
        y = (a @ v).transpose(1, 2).reshape(b, n, c)
        return self.out(y)


class Pads(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(2, 3, 3)

    def forward(self, x):
        x = F.pad(x, (1, 2, 0, 1), value=0.5)
        x = nn.ZeroPad2d((2, 0, 1, 1))(self.c(x))
        return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True, ceil_mode=True)


class Expands(nn.Module):
    def forward(self, x):  # [N, 1, 3, 4]
        y = x.expand(-1, 3, -1, -1)
        return y * x.sum(dim=1, keepdim=True)


def torch_fixtures():
    export("torch_cnn_view_op9", CnnView(), (3, 8, 8), 9)
    export("torch_cnn_view_op13", CnnView(), (3, 8, 8), 13)
    export("torch_cnn_view_static", CnnView(), (3, 8, 8), 11, dynamic=False, static_batch=2)
    export("torch_resblock_op13", ResBlock(), (4, 6, 6), 13)
    export("torch_mobile_se_op14", MobileSE(), (4, 7, 7), 14)
    export("torch_mobile_se_op17", MobileSE(), (4, 7, 7), 17)
    export("torch_unet_op11", UNetish(), (2, 8, 8), 11)
    export("torch_unet_op13", UNetish(), (2, 8, 8), 13)
    export("torch_unet_op9", UNetish(), (2, 8, 8), 9)
    export("torch_upsample_sizes_op13", UpsampleSizes(), (3, 4, 5), 13)
    export("torch_conv1d_op13", Conv1dNet(), (3, 32), 13)
    export("torch_conv1d_op10", Conv1dNet(), (3, 32), 10)
    export("torch_activations_op11", Activations(), (6,), 11)
    export("torch_activations_op13", Activations(), (6,), 13)
    export("torch_shapes_op11", Shapes(), (4, 3, 5), 11)
    export("torch_shapes_op13", Shapes(), (4, 3, 5), 13)
    export("torch_attention_op13_static", Attention(), (5, 8), 13, dynamic=False, static_batch=2)
    export("torch_pads_op11", Pads(), (2, 6, 7), 11)
    export("torch_pads_op9", Pads(), (2, 6, 7), 9)
    export("torch_expand_op13", Expands(), (1, 3, 4), 13)


# ---------------------------------------------------------------- hand-made graphs


def conv_transpose_fixtures():
    w = rand(2, 2, 3, 3)
    b = rand(4)
    cases = {
        "convT_output_shape_notset": dict(strides=[2, 2], output_shape=[10, 9]),
        "convT_output_shape_same_upper": dict(strides=[2, 2], output_shape=[10, 9], auto_pad="SAME_UPPER"),
        "convT_output_shape_bigger": dict(strides=[3, 2], output_shape=[13, 11]),
        "convT_output_shape_odd_notset": dict(strides=[2, 2], output_shape=[8, 8]),
        "convT_output_shape_odd_same_upper": dict(strides=[2, 2], output_shape=[8, 8], auto_pad="SAME_UPPER"),
        "convT_output_shape_odd_same_lower": dict(strides=[2, 2], output_shape=[8, 8], auto_pad="SAME_LOWER"),
        "convT_same_upper": dict(strides=[2, 2], auto_pad="SAME_UPPER"),
        "convT_same_lower": dict(strides=[2, 3], auto_pad="SAME_LOWER"),
        "convT_pads_outpad_dil": dict(strides=[2, 3], pads=[1, 0, 2, 1], output_padding=[1, 2], dilations=[1, 2]),
    }
    for name, attrs in cases.items():
        node = helper.make_node("ConvTranspose", ["x", "W", "B"], ["y"], group=2, **attrs)
        save_model(name, [node], [vi("x", ["N", 4, 4, 5])], [vi("y", None)],
                   [init("W", np.concatenate([w, w[::-1]], 0)), init("B", b)], 13, (1, 2), (4, 4, 5))
    node = helper.make_node("ConvTranspose", ["x", "W"], ["y"], strides=[2], pads=[1, 0], output_padding=[1])
    save_model("convT_1d", [node], [vi("x", ["N", 3, 6])], [vi("y", None)], [init("W", rand(3, 2, 4))], 11, (1, 2),
               (3, 6))


def conv_fixtures():
    for pad in ["SAME_UPPER", "SAME_LOWER", "VALID"]:
        node = helper.make_node("Conv", ["x", "W", "B"], ["y"], strides=[2, 3], auto_pad=pad)
        save_model("conv_" + pad.lower(), [node], [vi("x", ["N", 2, 7, 8])], [vi("y", None)],
                   [init("W", rand(4, 2, 3, 2)), init("B", rand(4))], 11, (1, 2), (2, 7, 8))
    node = helper.make_node("Conv", ["x", "W"], ["y"], strides=[2], pads=[2, 1], dilations=[2], group=2)
    save_model("conv_1d_groups", [node], [vi("x", ["N", 4, 11])], [vi("y", None)], [init("W", rand(6, 2, 3))], 13,
               (1, 3), (4, 11))
    node = helper.make_node("Conv", ["x", "W", "B"], ["y"], auto_pad="SAME_UPPER", strides=[1])
    save_model("conv_1d_same", [node], [vi("x", ["N", 2, 9])], [vi("y", None)],
               [init("W", rand(3, 2, 4)), init("B", rand(3))], 11, (1, 2), (2, 9))


def pool_fixtures():
    cases = {
        "maxpool_same_upper": ("MaxPool", dict(kernel_shape=[3, 2], strides=[2, 2], auto_pad="SAME_UPPER"), 11),
        "maxpool_same_lower": ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 1], auto_pad="SAME_LOWER"), 11),
        "maxpool_ceil_dil": ("MaxPool", dict(kernel_shape=[2, 3], strides=[2, 2], dilations=[2, 1], pads=[1, 1, 0, 1],
                                             ceil_mode=1), 12),
        "avgpool_ceil_incl": ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
                                                  count_include_pad=1), 11),
        "avgpool_ceil_excl": ("AveragePool", dict(kernel_shape=[3, 2], strides=[2, 3], pads=[0, 1, 1, 0], ceil_mode=1),
                              11),
        "avgpool_same_lower": ("AveragePool", dict(kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_LOWER"), 7),
        "maxpool_opset8_storage": ("MaxPool", dict(kernel_shape=[2, 2], storage_order=1), 8),
    }
    for name, (op, attrs, opset) in cases.items():
        node = helper.make_node(op, ["x"], ["y"], **attrs)
        save_model(name, [node], [vi("x", ["N", 2, 7, 8])], [vi("y", None)], [], opset, (1, 2), (2, 7, 8))
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3], strides=[2], pads=[1, 1], ceil_mode=1)
    save_model("maxpool_1d", [node], [vi("x", ["N", 3, 10])], [vi("y", None)], [], 12, (1, 2), (3, 10))
    node = helper.make_node("GlobalMaxPool", ["x"], ["y"])
    save_model("globalmaxpool", [node], [vi("x", ["N", 3, 4, 5])], [vi("y", None)], [], 11, (2,), (3, 4, 5))


def resize_fixtures():
    x = [vi("x", ["N", 2, 4, 6])]
    # opset 10: asymmetric; ONNX Runtime floors when enlarging and rounds up when shrinking
    for name, scales in {"resize10_up": [1, 1, 2, 1.5], "resize10_down": [1, 1, 0.5, 0.6]}.items():
        node = helper.make_node("Resize", ["x", "s"], ["y"], mode="nearest")
        save_model(name, [node], x, [vi("y", None)], [init("s", np.array(scales, np.float32))], 10, (1, 2), (2, 4, 6))
    node = helper.make_node("Upsample", ["x"], ["y"], scales=[1.0, 1.0, 2.0, 3.0], mode="nearest")
    save_model("upsample7", [node], x, [vi("y", None)], [], 7, (1, 2), (2, 4, 6))
    node = helper.make_node("Upsample", ["x", "s"], ["y"], mode="nearest")
    save_model("upsample9", [node], x, [vi("y", None)], [init("s", np.array([1, 1, 1.5, 2], np.float32))], 9, (1, 2),
               (2, 4, 6))
    modes = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn"]
    nearest = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]
    for i, ct in enumerate(modes):
        for j, nm in enumerate(nearest):
            if (i + j) % 2:
                continue
            scales = [1, 1, 1.7, 0.7] if j % 2 == 0 else [1, 1, 2.5, 1.5]
            node = helper.make_node("Resize", ["x", "", "s"], ["y"], mode="nearest",
                                    coordinate_transformation_mode=ct, nearest_mode=nm)
            save_model("resize13_%s_%s" % (ct, nm), [node], x, [vi("y", None)],
                       [init("s", np.array(scales, np.float32))], 13, (1, 2), (2, 4, 6))
    node = helper.make_node("Resize", ["x", "roi", "noscales", "sizes"], ["y"], mode="nearest",
                            coordinate_transformation_mode="align_corners", nearest_mode="round_prefer_ceil")
    save_model("resize11_sizes_static", [node], [vi("x", [1, 2, 4, 6])], [vi("y", None)],
               [init("roi", np.array([], np.float32)), init("noscales", np.array([], np.float32)),
                init("sizes", np.array([1, 2, 7, 4], np.int64))], 11, (1,),
               (2, 4, 6))


def gemm_fixtures():
    a = [vi("a", ["N", 4])]
    cases = {
        "gemm_transB_alpha_beta": (dict(transB=1, alpha=0.5, beta=2.0), rand(3, 4), rand(3)),
        "gemm_C_row": (dict(beta=-1.0), rand(4, 3), rand(1, 3)),
        "gemm_C_scalar": (dict(), rand(4, 3), np.array(0.7, np.float32)),
        "gemm_C_column": (dict(alpha=1.5), rand(4, 3), rand(2, 1)),
        "gemm_C_matrix": (dict(transB=1), rand(3, 4), rand(2, 3)),
    }
    for name, (attrs, b, c) in cases.items():
        node = helper.make_node("Gemm", ["a", "B", "C"], ["y"], **attrs)
        batches = (2,) if c.ndim == 2 and c.shape[0] == 2 else (1, 3)
        inputs = a if len(batches) > 1 else [vi("a", [2, 4])]
        save_model(name, [node], inputs, [vi("y", None)], [init("B", b), init("C", c)], 11, batches, (4,))
    # transA on a fixed batch: A is [K, M]
    node = helper.make_node("Gemm", ["a", "B", "C"], ["y"], transA=1, transB=1)
    save_model("gemm_transA_static", [node], [vi("a", [3, 2])], [vi("y", None)],
               [init("B", rand(5, 3)), init("C", rand(5))], 9, (3,), (2,))
    # B computed by the graph
    nodes = [helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("Transpose", ["r"], ["rt"], perm=[1, 0]),
             helper.make_node("Gemm", ["a", "rt", "C"], ["y"], alpha=0.5, beta=3.0)]
    save_model("gemm_B_activation_static", nodes, [vi("a", [3, 4])], [vi("y", None)], [init("C", rand(3))], 13, (3,),
               (4,))


def misc_fixtures():
    x = [vi("x", ["N", 3, 4])]
    # Clip: opset 6 attributes; opset 11 with only max; opset 13 with both
    save_model("clip6", [helper.make_node("Clip", ["x"], ["y"], min=-0.5, max=0.7)], x, [vi("y", None)], [], 6, (2,),
               (3, 4))
    save_model("clip11_max_only", [helper.make_node("Clip", ["x", "", "m"], ["y"])], x, [vi("y", None)],
               [init("m", np.array(0.3, np.float32))], 11, (2,), (3, 4))
    # Softmax before opset 13 over the trailing axes
    save_model("softmax11_axis1", [helper.make_node("Softmax", ["x"], ["y"], axis=1)], x, [vi("y", None)], [], 11, (2,),
               (3, 4))
    save_model("logsoftmax13_axis1", [helper.make_node("LogSoftmax", ["x"], ["y"], axis=1)], x, [vi("y", None)], [], 13,
               (2,), (3, 4))
    # Pad with negative pads and a constant value (opset 11 inputs), and opset 2 attributes
    save_model("pad11_negative", [helper.make_node("Pad", ["x", "p", "v"], ["y"])], x, [vi("y", None)],
               [init("p", np.array([0, 1, -1, 0, -1, 2], np.int64)), init("v", np.array(1.5, np.float32))], 11, (2,),
               (3, 4))
    save_model("pad2_attr", [helper.make_node("Pad", ["x"], ["y"], pads=[0, 0, 1, 0, 2, 0], value=-2.0)], x,
               [vi("y", None)], [], 7, (2,), (3, 4))
    # Slice with steps, negative steps and INT64 ends; opset 9 attributes
    big = 9223372036854775807
    save_model("slice13_steps", [helper.make_node("Slice", ["x", "s", "e", "a", "t"], ["y"])], x, [vi("y", None)],
               [init("s", np.array([-1, 0], np.int64)), init("e", np.array([-big - 1, big], np.int64)),
                init("a", np.array([2, -2], np.int64)), init("t", np.array([-2, 2], np.int64))], 13, (2,), (3, 4))
    save_model("slice9_attr", [helper.make_node("Slice", ["x"], ["y"], starts=[1], ends=[big], axes=[1])], x,
               [vi("y", None)], [], 9, (2,), (3, 4))
    # Split: attribute, input, equal parts
    for opset, extra in [(11, dict(split=[1, 2])), (13, {}), (18, {})]:
        ins = ["x", "sp"] if opset == 13 else ["x"]
        inits = [init("sp", np.array([2, 1], np.int64))] if opset == 13 else []
        attrs = dict(extra, axis=1)
        if opset == 18:
            attrs["num_outputs"] = 2
            ins = ["x"]
        nodes = [helper.make_node("Split", ins, ["p", "q"], **attrs),
                 helper.make_node("Mul", ["q", "q"], ["q2"]) if opset != 18 else helper.make_node("Identity", ["q"],
                                                                                                   ["q2"])]
        save_model("split%d" % opset, nodes, x, [vi("p", None), vi("q2", None)], inits, opset, (2,), (3, 4))
    # Squeeze / Unsqueeze: attributes before 13, inputs from 13
    save_model("unsqueeze11", [helper.make_node("Unsqueeze", ["x"], ["u"], axes=[-1, 1]),
                               helper.make_node("Squeeze", ["u"], ["y"], axes=[1])], x, [vi("y", None)], [], 11, (2,),
               (3, 4))
    save_model("unsqueeze13", [helper.make_node("Unsqueeze", ["x", "ax"], ["u"]),
                               helper.make_node("Squeeze", ["u"], ["y"])], x, [vi("y", None)],
               [init("ax", np.array([2, 4], np.int64))], 13, (2,), (3, 4))
    # ReduceSum with axes input, ReduceMean with attribute
    save_model("reducesum13", [helper.make_node("ReduceSum", ["x", "ax"], ["y"], keepdims=0)], x, [vi("y", None)],
               [init("ax", np.array([-1], np.int64))], 13, (2,), (3, 4))
    save_model("reducemean11", [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1, 2])], x, [vi("y", None)], [], 11,
               (2,), (3, 4))
    # BatchNormalization in each version
    c = 3
    bn = [init("s", rand(c)), init("b", rand(c)), init("m", rand(c)), init("v", np.abs(rand(c)) + 0.5)]
    for opset in (7, 9, 14, 15):
        save_model("batchnorm%d" % opset,
                   [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)], x,
                   [vi("y", None)], bn, opset, (2,), (3, 4))
    # Flatten with a negative axis, Transpose default perm on a fixed batch, Expand of an activation
    save_model("flatten_neg", [helper.make_node("Flatten", ["x"], ["y"], axis=-2)], x, [vi("y", None)], [], 13, (2,),
               (3, 4))
    save_model("transpose_default_static", [helper.make_node("Transpose", ["x"], ["y"])], [vi("x", [2, 3, 4])],
               [vi("y", None)], [], 13, (2,), (3, 4))
    save_model("expand_act", [helper.make_node("Expand", ["x", "sh"], ["y"])], [vi("x", ["N", 3, 1])],
               [vi("y", None)], [init("sh", np.array([1, 3, 5], np.int64))], 13, (2,), (3, 1))
    # Concat with constants, Add/Sub/Mul/Div broadcasting with constants on either side
    nodes = [helper.make_node("Relu", ["x"], ["xr"]),
             helper.make_node("Concat", ["xr", "k"], ["c"], axis=-1),
             helper.make_node("Sub", ["k2", "c"], ["d"]),
             helper.make_node("Div", ["d", "k3"], ["e"]),
             helper.make_node("Mul", ["e", "c"], ["y"])]
    save_model("concat_binary_consts_static", nodes, [vi("x", [1, 3, 2])], [vi("y", None)],
               [init("k", np.ones((1, 3, 2), np.float32)), init("k2", rand(4)), init("k3", rand(3, 1) + 3)], 13, (1,),
               (3, 2))
    # MatMul: Dense with a following bias; rank-3 activation by a constant; constant by activation
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])]
    save_model("matmul_rank3_bias", nodes, x, [vi("y", None)], [init("W", rand(4, 5)), init("b", rand(5))], 13, (2,),
               (3, 4))
    save_model("matmul_const_left", [helper.make_node("MatMul", ["W", "x"], ["y"])], x, [vi("y", None)],
               [init("W", rand(2, 3))], 13, (2,), (3, 4))
    # initializers as float16 and double, Cast folding of constants
    nodes = [helper.make_node("Cast", ["h"], ["hf"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["x", "hf"], ["a"]),
             helper.make_node("Cast", ["d"], ["df"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["a", "df"], ["y"])]
    save_model("float16_double_inits", nodes, x, [vi("y", None)],
               [init("h", rand(4).astype(np.float16)), init("d", rand(3, 1).astype(np.float64))], 13, (2,), (3, 4))
    # hard activations
    nodes = [helper.make_node("HardSigmoid", ["x"], ["h"], alpha=0.3, beta=0.4),
             helper.make_node("HardSwish", ["x"], ["s"]),
             helper.make_node("LeakyRelu", ["x"], ["l"]),
             helper.make_node("Elu", ["x"], ["e"]),
             helper.make_node("Add", ["h", "s"], ["hs"]),
             helper.make_node("Add", ["l", "e"], ["le"]),
             helper.make_node("Mul", ["hs", "le"], ["y"])]
    save_model("hard_activations", nodes, x, [vi("y", None)], [], 14, (2,), (3, 4))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch_fixtures()
    conv_transpose_fixtures()
    conv_fixtures()
    pool_fixtures()
    resize_fixtures()
    gemm_fixtures()
    misc_fixtures()
