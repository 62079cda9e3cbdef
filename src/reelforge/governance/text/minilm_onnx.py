"""The MiniLM encoder layers as an ONNX graph, built in memory from the same weights, for
onnxruntime.

`semantic.MiniLMEncoder` computes the embeddings and the first LayerNorm in NumPy and hands
the (batch, seq, 384) activations and the additive attention mask to this graph: six BERT
layers (fused QKV projection, scaled dot-product attention with softmax, output projection,
residual and LayerNormalization, erf GELU feed-forward, residual and LayerNormalization).
Mean pooling and L2 normalisation stay in NumPy. onnxruntime fuses LayerNorm, GELU and the
matrix products that NumPy runs as separate passes over temporaries; the result equals the
NumPy forward pass to float rounding (`tests/unit/test_text_moderation.py`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

OPSET = 17


def build_encoder(
    w: dict[str, np.ndarray], layers: int, heads: int, hidden: int, eps: float
) -> bytes:
    """A serialised ONNX model: inputs ``x`` (batch, seq, hidden) float32 and ``mask_bias``
    (batch, 1, 1, seq) float32; output ``y`` (batch, seq, hidden)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(value, name))
        return name

    def node(op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], **attrs))
        return name

    dim = hidden // heads
    const("qkv_shape", np.array([0, 0, 3, heads, dim], dtype=np.int64))
    const("ctx_shape", np.array([0, 0, hidden], dtype=np.int64))
    const("scale", np.array(1.0 / np.sqrt(dim), dtype=np.float32))
    const("half", np.array(0.5, dtype=np.float32))
    const("one", np.array(1.0, dtype=np.float32))
    const("inv_sqrt2", np.array(0.7071067811865476, dtype=np.float32))
    x = "x"
    for i in range(layers):
        p = f"encoder.layer.{i}."
        n = f"l{i}_"

        def weight(key: str, p: str = p, n: str = n) -> str:
            return const(n + key, np.ascontiguousarray(w[p + key], dtype=np.float32))

        qkv = node("MatMul", [x, weight("attention.self.qkv.weight")], n + "qkv_mm")
        qkv = node("Add", [qkv, weight("attention.self.qkv.bias")], n + "qkv")
        qkv = node("Reshape", [qkv, "qkv_shape"], n + "qkv_r")
        qkv = node("Transpose", [qkv], n + "qkv_t", perm=[2, 0, 3, 1, 4])
        q, k, v = (
            node(
                "Gather", [qkv, const(n + f"idx{j}", np.array(j, dtype=np.int64))], n + name, axis=0
            )
            for j, name in enumerate(("q", "k", "v"))
        )
        kt = node("Transpose", [k], n + "kt", perm=[0, 1, 3, 2])
        scores = node("MatMul", [q, kt], n + "scores")
        scores = node("Mul", [scores, "scale"], n + "scaled")
        scores = node("Add", [scores, "mask_bias"], n + "masked")
        probs = node("Softmax", [scores], n + "probs", axis=-1)
        ctx = node("MatMul", [probs, v], n + "ctx")
        ctx = node("Transpose", [ctx], n + "ctx_t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "ctx_shape"], n + "ctx_r")
        attn = node("MatMul", [ctx, weight("attention.output.dense.weight")], n + "attn_mm")
        attn = node("Add", [attn, weight("attention.output.dense.bias")], n + "attn")
        res = node("Add", [attn, x], n + "res1")
        x1 = node(
            "LayerNormalization",
            [
                res,
                weight("attention.output.LayerNorm.weight"),
                weight("attention.output.LayerNorm.bias"),
            ],
            n + "ln1",
            axis=-1,
            epsilon=eps,
        )
        h = node("MatMul", [x1, weight("intermediate.dense.weight")], n + "ff_mm")
        h = node("Add", [h, weight("intermediate.dense.bias")], n + "ff")
        e = node("Erf", [node("Mul", [h, "inv_sqrt2"], n + "ff_s")], n + "erf")
        g = node(
            "Mul",
            [node("Mul", [h, "half"], n + "ff_h"), node("Add", [e, "one"], n + "erf1")],
            n + "gelu",
        )
        h = node("MatMul", [g, weight("output.dense.weight")], n + "out_mm")
        h = node("Add", [h, weight("output.dense.bias")], n + "out")
        res = node("Add", [h, x1], n + "res2")
        x = node(
            "LayerNormalization",
            [res, weight("output.LayerNorm.weight"), weight("output.LayerNorm.bias")],
            n + "ln2",
            axis=-1,
            epsilon=eps,
        )
    nodes.append(helper.make_node("Identity", [x], ["y"]))
    graph = helper.make_graph(
        nodes,
        "all_minilm_l6_v2_encoder",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", hidden]),
            helper.make_tensor_value_info("mask_bias", TensorProto.FLOAT, ["batch", 1, 1, "seq"]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", hidden])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())
