"""Stores ONNX Runtime's outputs for the fixtures make_fixtures.py wrote: for each input_K.npy
of a fixture, output_K_J.npy for each model output J. Needs onnxruntime and numpy only:
    python run_ort.py src/test/resources/ort
"""
import os
import sys

import numpy as np
import onnxruntime as ort

root = sys.argv[1] if len(sys.argv) > 1 else "src/test/resources/ort"
for name in sorted(os.listdir(root)):
    d = os.path.join(root, name)
    print("--", name, flush=True)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        s = ort.InferenceSession(os.path.join(d, "model.onnx"), so, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        print("SKIP", name, str(e).splitlines()[0][:200])
        continue
    for f in sorted(os.listdir(d)):
        if not (f.startswith("input_") and f.endswith(".npy")):
            continue
        k = f[len("input_"):-len(".npy")]
        x = np.load(os.path.join(d, f))
        outs = s.run(None, {s.get_inputs()[0].name: x})
        for j, y in enumerate(outs):
            np.save(os.path.join(d, "output_%s_%d.npy" % (k, j)), np.asarray(y, dtype=np.float32))
    print("ok", name, flush=True)
