"""dlib's face-recognition ResNet, read from its own weights file and run by onnxruntime.

`dlib-bin` is built without BLAS, so its descriptor network multiplies matrices with dlib's
own loops: 58-138 ms a face on the 2-core VMs, while onnxruntime runs the same 0.6 GFLOP
network in a few milliseconds. This module reads `dlib_face_recognition_resnet_model_v1.dat`
(the file `face-recognition-models` ships; nothing is downloaded or converted ahead of time),
builds the equivalent ONNX graph in memory and runs it. The descriptors equal dlib's own
`compute_face_descriptor` on the same chip to ~1e-6 (`tests/unit/test_face_descriptor.py`),
so embeddings already stored in the likeness registry stay comparable.

The network (dlib's `dnn_face_recognition_ex.cpp`): a 150x150 RGB chip, minus the mean colour
and divided by 256; a 7x7/2 convolution with 32 filters, an affine (frozen batch norm) and a
ReLU, a 3x3/2 max pool; 14 residual units of two 3x3 convolutions each (32, 64, 128 and 256
filters); the units that halve the size add a 2x2/2 average pool of their input instead of the
input itself; a global average pool and a 256x128 matrix. Where the two branches of a unit
differ in size or channels, dlib adds them zero-padded to the larger shape, and so does the
graph. Each affine is folded into the convolution before it.

dlib's serialisation, as far as this file needs it: integers are one byte holding the count of
little-endian bytes that follow (0x80 marks a negative number), strings are a length and the
bytes, floats outside tensors are a mantissa and a base-2 exponent (two integers), tensors are
a version, four dimensions and raw little-endian float32s. The layers are stored from the
input outwards, each under its type's name; layers without weights (ReLU, the additions) store
their name alone. The reader checks the layer sequence against the architecture above and
refuses any other file.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reelforge.governance import runtime
from reelforge.governance.image import require
from reelforge.governance.runtime import LazySession, cpu_session

CHIP_SIZE = 150
DESCRIPTOR_SIZE = 128
CACHE_NAME = "dlib-face-descriptor"  # the built graph's entry in runtime's model cache
_MEAN_KEY = "input_mean_rgb"  # model metadata: the mean colour the chips are normalised by

_NAMES = (
    b"input_rgb_image_sized",
    b"con_4",
    b"affine_",
    b"relu_",
    b"max_pool_2",
    b"avg_pool_2",
    b"add_prev_",
    b"fc_2",
)
_RECORD = re.compile(
    b"\x01[" + bytes(sorted({len(n) for n in _NAMES})) + b"](" + b"|".join(_NAMES) + b")"
)


class DescriptorModelError(ValueError):
    """The weights file is not dlib's face-recognition ResNet as this reader knows it."""


@dataclass
class Layer:
    """One stored layer: its type name and what the graph needs of it."""

    kind: str
    weights: np.ndarray | None = None  # con: (out, in, kh, kw); fc: (in, out); affine: gamma
    bias: np.ndarray | None = None  # con: (out,); affine: beta
    kernel: tuple[int, int] = (0, 0)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)  # input layer: the mean R, G, B


class _Reader:
    """dlib's serialisation primitives over a bytes buffer."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def integer(self) -> int:
        if self.pos >= len(self.data):
            raise DescriptorModelError("the file ends inside a layer")
        head = self.data[self.pos]
        size = head & 0x0F
        if size > 8:
            raise DescriptorModelError(f"bad integer at byte {self.pos}")
        raw = self.data[self.pos + 1 : self.pos + 1 + size]
        if len(raw) != size:
            raise DescriptorModelError("the file ends inside a layer")
        self.pos += 1 + size
        value = int.from_bytes(raw, "little")
        return -value if head & 0x80 else value

    def real(self) -> float:
        mantissa = self.integer()
        exponent = self.integer()
        return float(mantissa) * 2.0**exponent

    def tensor(self) -> np.ndarray:
        version = self.integer()
        if version != 2:
            raise DescriptorModelError(f"tensor version {version}, expected 2")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        end = self.pos + 4 * count
        if count <= 0 or end > len(self.data):
            raise DescriptorModelError(f"bad tensor of shape {shape} at byte {self.pos}")
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
        self.pos = end
        return values.astype(np.float32)

    def alias(self) -> tuple[int, int, int, int]:
        if self.integer() != 1:
            raise DescriptorModelError("unknown alias tensor version")
        n, k, nr, nc = (self.integer() for _ in range(4))
        return n, k, nr, nc


def read_layers(data: bytes) -> list[Layer]:
    """The layers stored in a dlib face-recognition ResNet file, input first."""
    layers: list[Layer] = []
    pos = 0
    while match := _RECORD.search(data, pos):
        kind = match.group(1).decode()
        reader = _Reader(data, match.end())
        layers.append(_read_layer(kind, reader))
        pos = reader.pos
    _check_sequence(layers)
    return layers


def _read_layer(kind: str, r: _Reader) -> Layer:
    if kind == "input_rgb_image_sized":
        mean = (r.real(), r.real(), r.real())
        if (r.integer(), r.integer()) != (CHIP_SIZE, CHIP_SIZE):
            raise DescriptorModelError(f"the network does not take {CHIP_SIZE}px chips")
        return Layer(kind, mean=mean)
    if kind == "con_4":
        params = r.tensor()
        filters, nr, nc = r.integer(), r.integer(), r.integer()
        stride = (r.integer(), r.integer())
        padding = (r.integer(), r.integer())
        shape = r.alias()
        if r.alias() != (1, filters, 1, 1) or shape[0] != filters or shape[2:] != (nr, nc):
            raise DescriptorModelError("convolution shapes disagree")
        size = int(np.prod(shape))
        if params.size != size + filters:
            raise DescriptorModelError("convolution weights have the wrong size")
        weights = params[:size].reshape(shape)
        return Layer(kind, weights, params[size:], (nr, nc), stride, padding)
    if kind == "affine_":
        params = r.tensor()
        gamma, beta = r.alias(), r.alias()
        if r.integer() != 0 or gamma != beta or params.size != 2 * gamma[1]:
            raise DescriptorModelError("only per-channel (convolution mode) affines are known")
        return Layer(kind, params[: gamma[1]], params[gamma[1] :])
    if kind in ("max_pool_2", "avg_pool_2"):
        kernel = (r.integer(), r.integer())
        stride = (r.integer(), r.integer())
        padding = (r.integer(), r.integer())
        return Layer(kind, kernel=kernel, stride=stride, padding=padding)
    if kind == "fc_2":
        outputs, inputs = r.integer(), r.integer()
        params = r.tensor()
        if params.size != outputs * inputs:
            raise DescriptorModelError("only a fully connected layer without bias is known")
        return Layer(kind, params.reshape(inputs, outputs))
    return Layer(kind)  # relu_, add_prev_: nothing stored but the name


_STEM = ["input_rgb_image_sized", "con_4", "affine_", "relu_", "max_pool_2"]
_UNIT = ["con_4", "affine_", "relu_", "con_4", "affine_"]
_HEAD = ["avg_pool_2", "fc_2"]


def _check_sequence(layers: list[Layer]) -> None:
    kinds = [layer.kind for layer in layers]
    pos = len(_STEM)
    ok = kinds[:pos] == _STEM
    units = 0
    while ok and kinds[pos : pos + len(_UNIT)] == _UNIT:
        pos += len(_UNIT)
        if kinds[pos : pos + 1] == ["avg_pool_2"] and kinds[pos + 1 : pos + 2] == ["add_prev_"]:
            pos += 1
        ok = kinds[pos : pos + 2] == ["add_prev_", "relu_"]
        pos += 2
        units += 1
    if not ok or units == 0 or kinds[pos:] != _HEAD or layers[-2].kernel != (0, 0):
        raise DescriptorModelError(
            "not dlib's face-recognition ResNet (unexpected layer sequence: "
            + " ".join(kinds[:12])
            + " ...)"
        )


@dataclass
class _Graph:
    """An ONNX graph under construction, with the static shape of every value."""

    onnx: Any
    nodes: list[Any] = field(default_factory=list)
    weights: list[Any] = field(default_factory=list)
    shapes: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # (C, H, W)

    def name(self, stem: str) -> str:
        return f"{stem}{len(self.nodes)}"

    def const(self, stem: str, array: np.ndarray) -> str:
        name = self.name(stem) + f"_{len(self.weights)}"
        self.weights.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], shape: tuple[int, int, int], **attrs: Any) -> str:
        out = self.name(op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], **attrs))
        self.shapes[out] = shape
        return out

    def conv(self, x: str, con: Layer, affine: Layer) -> str:
        assert con.weights is not None and con.bias is not None
        assert affine.weights is not None and affine.bias is not None
        gamma, beta = affine.weights, affine.bias
        weights = (con.weights * gamma[:, None, None, None]).astype(np.float32)
        bias = (con.bias * gamma + beta).astype(np.float32)
        _, h, w = self.shapes[x]
        shape = (
            weights.shape[0],
            _out(h, con.kernel[0], con.stride[0], con.padding[0]),
            _out(w, con.kernel[1], con.stride[1], con.padding[1]),
        )
        pads = [con.padding[0], con.padding[1], con.padding[0], con.padding[1]]
        inputs = [x, self.const("w", weights), self.const("b", bias)]
        return self.node(
            "Conv",
            inputs,
            shape,
            kernel_shape=list(con.kernel),
            strides=list(con.stride),
            pads=pads,
        )

    def pool(self, op: str, x: str, pool: Layer) -> str:
        c, h, w = self.shapes[x]
        shape = (
            c,
            _out(h, pool.kernel[0], pool.stride[0], pool.padding[0]),
            _out(w, pool.kernel[1], pool.stride[1], pool.padding[1]),
        )
        pads = [pool.padding[0], pool.padding[1], pool.padding[0], pool.padding[1]]
        return self.node(
            op, [x], shape, kernel_shape=list(pool.kernel), strides=list(pool.stride), pads=pads
        )

    def padded_to(self, x: str, shape: tuple[int, int, int]) -> str:
        """`x` zero-padded at the end of each axis to `shape` (dlib's add of unequal shapes)."""
        have = self.shapes[x]
        if have == shape:
            return x
        ends = [0, *(want - got for want, got in zip(shape, have, strict=True))]
        pads = np.array([0, 0, 0, 0, *ends], dtype=np.int64)
        return self.node("Pad", [x, self.const("pads", pads)], shape, mode="constant")

    def relu(self, x: str) -> str:
        return self.node("Relu", [x], self.shapes[x])

    def add(self, a: str, b: str) -> str:
        shape = tuple(max(p, q) for p, q in zip(self.shapes[a], self.shapes[b], strict=True))
        big = (shape[0], shape[1], shape[2])
        return self.node("Add", [self.padded_to(a, big), self.padded_to(b, big)], big)


def _out(size: int, kernel: int, stride: int, padding: int) -> int:
    return 1 + (size + 2 * padding - kernel) // stride


def build_model(layers: list[Layer]) -> bytes:
    """A serialised ONNX model computing the descriptors of (N, 3, 150, 150) float chips that
    are already normalised (see `normalise`)."""
    onnx = require("onnx")
    g = _Graph(onnx)
    g.shapes["chips"] = (3, CHIP_SIZE, CHIP_SIZE)
    x = g.relu(g.conv("chips", layers[1], layers[2]))
    x = g.pool("MaxPool", x, layers[4])
    pos = len(_STEM)
    while layers[pos].kind == "con_4":
        y = g.relu(g.conv(x, layers[pos], layers[pos + 1]))
        y = g.conv(y, layers[pos + 3], layers[pos + 4])
        pos += len(_UNIT)
        skip = x
        if layers[pos].kind == "avg_pool_2":
            skip = g.pool("AveragePool", x, layers[pos])
            pos += 1
        x = g.relu(g.add(skip, y))
        pos += 2
    channels = g.shapes[x][0]
    x = g.node("GlobalAveragePool", [x], (channels, 1, 1))
    x = g.node("Flatten", [x], (channels, 1, 1), axis=1)
    fc = layers[-1].weights
    assert fc is not None
    out = g.node("MatMul", [x, g.const("fc", fc)], (fc.shape[1], 1, 1))
    graph = onnx.helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [
            onnx.helper.make_tensor_value_info(
                "chips", onnx.TensorProto.FLOAT, ["n", 3, CHIP_SIZE, CHIP_SIZE]
            )
        ],
        [onnx.helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, ["n", fc.shape[1]])],
        initializer=g.weights,
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    model.ir_version = 8
    mean = layers[0].mean
    onnx.helper.set_model_props(model, {_MEAN_KEY: " ".join(repr(float(v)) for v in mean)})
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def session_mean(session: Any) -> tuple[float, float, float]:
    """The mean colour `build_model` stored in the model's metadata."""
    raw = session.get_modelmeta().custom_metadata_map.get(_MEAN_KEY, "")
    values = [float(v) for v in raw.split()]
    if len(values) != 3:
        raise DescriptorModelError("the descriptor graph carries no input mean")
    return values[0], values[1], values[2]


def normalise(chips: np.ndarray, mean: tuple[float, float, float]) -> np.ndarray:
    """(N, 150, 150, 3) uint8 RGB chips as the network's (N, 3, 150, 150) float input: minus the
    mean colour, divided by 256 (dlib's `input_rgb_image_sized`)."""
    x = chips.astype(np.float32) - np.asarray(mean, dtype=np.float32)
    x *= 1.0 / 256.0
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


class FaceDescriber:
    """128-d face descriptors of aligned 150x150 chips, by onnxruntime.

    The model is read and built on first use, under a lock; onnxruntime's `run` may then be
    called from several threads at once. `threads` sets onnxruntime's intra-op threads (None:
    its default, all cores). The built graph is kept in runtime's model cache, keyed by the
    weights file's sha256 and this module's code (building takes ~1.8 s on the 2-core VM,
    loading the cached graph ~0.2 s); `cache=False` always builds.
    """

    def __init__(
        self, model_path: str | os.PathLike[str], threads: int | None = None, cache: bool = True
    ) -> None:
        self._model_path = Path(model_path)
        self._threads = threads
        self._cache = cache
        self._mean = (0.0, 0.0, 0.0)
        self._session = LazySession(self._build_session)

    def load(self) -> None:
        """Read the weights and create the session now."""
        self._session.get()

    @property
    def loaded(self) -> bool:
        """Whether the network is loaded (it loads on first use or `load()`)."""
        return self._session.loaded

    def _build_session(self) -> Any:
        require("onnxruntime")
        data = self._model_path.read_bytes()

        def build() -> bytes:
            return build_model(read_layers(data))

        def load(model: bytes) -> Any:
            session = cpu_session(model, self._threads)
            self._mean = session_mean(session)
            return session

        if not self._cache:
            return load(build())
        code = runtime.source_digest(runtime, sys.modules[__name__])
        key = [hashlib.sha256(data).hexdigest(), code]
        return runtime.cached(CACHE_NAME, key, build, load)

    def describe(self, chips: np.ndarray) -> np.ndarray:
        """(N, 128) float32 descriptors of (N, 150, 150, 3) uint8 RGB chips."""
        if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"chips must be (N, {CHIP_SIZE}, {CHIP_SIZE}, 3), got {chips.shape}")
        if chips.shape[0] == 0:
            return np.zeros((0, DESCRIPTOR_SIZE), np.float32)
        session = self._session.get()
        out = session.run(None, {"chips": normalise(chips, self._mean)})[0]
        return np.asarray(out, dtype=np.float32)
