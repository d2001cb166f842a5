"""Average several text emotion models (same tokenizer, features and context) in one ONNX graph.

Members are runs of ``emotrace train text`` (fp32 or int8); the merged graph keeps the
``input_ids, attention_mask, token_type_ids, lexicon -> emotion, sentiment`` interface and the
metadata of the first member, so :class:`~emotrace.text.classifier.TextEmotionModel` loads it
unchanged. It is int8-quantised after merging unless asked otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def merge_text_models(members: list[str | Path], out: str | Path, quantize: bool = True) -> Path:
    """One ONNX file whose outputs are the means of the members' outputs."""
    import onnx
    from onnx import compose, helper, numpy_helper

    if len(members) < 2:
        raise ValueError("an ensemble needs at least 2 members")
    models = [onnx.load(str(p)) for p in members]
    meta = [{m.key: m.value for m in model.metadata_props} for model in models]
    for key in ("emotion_labels", "sentiment_labels", "lexicon_features", "context", "tokenizer"):
        values = {mm.get(key) for mm in meta}
        if len(values) > 1:
            raise ValueError(f"members differ in {key}: {sorted(map(str, values))}")
    first = models[0]
    inputs = [i.name for i in first.graph.input]
    outputs = [o.name for o in first.graph.output]
    nodes, inits, value_info = [], [], []
    for k, model in enumerate(models):
        # opset/IR of the first member for all; every name gets the member's prefix
        pre = compose.add_prefix(model, f"m{k}/")
        rename = {f"m{k}/{n}": n for n in inputs}
        for node in pre.graph.node:
            node.input[:] = [rename.get(i, i) for i in node.input]
        nodes += list(pre.graph.node)
        inits += list(pre.graph.initializer)
        value_info += list(pre.graph.value_info)
    count = numpy_helper.from_array(np.array(1.0 / len(models), np.float32), "ens/inv_n")
    for name in outputs:
        parts = [f"m{k}/{name}" for k in range(len(models))]
        nodes.append(helper.make_node("Sum", parts, [f"ens/{name}_sum"]))
        nodes.append(helper.make_node("Mul", [f"ens/{name}_sum", "ens/inv_n"], [name]))
    graph = helper.make_graph(
        nodes, "text_emotion_ensemble", list(first.graph.input), list(first.graph.output),
        initializer=[*inits, count], value_info=value_info,
    )  # fmt: skip
    merged = helper.make_model(graph, opset_imports=list(first.opset_import))
    merged.ir_version = first.ir_version
    onnx.checker.check_model(merged)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fp32 = out.with_suffix(".merged.onnx")
    onnx.save(merged, str(fp32))
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8)
        fp32.unlink()
        final = onnx.load(str(out))
    else:
        fp32.replace(out)
        final = merged
    del final.metadata_props[:]
    for key, value in {**meta[0], "ensemble_members": str(len(models))}.items():
        final.metadata_props.add(key=key, value=value)
    onnx.save(final, str(out))
    return out
