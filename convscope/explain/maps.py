"""Feature maps (every layer's output for one input), learned filters (conv kernels) and the
colour scales that show them.

Arrays are channels-last and exclude the batch axis: a Conv2D map is (H, W, C), a Conv1D map
(L, C), a Dense output (units,).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convscope.explain import _model


@dataclass(frozen=True)
class LayerMaps:
    """One node's output for one example (a layer's, or one call's of a shared layer)."""

    index: int
    layer: str
    kind: str
    maps: np.ndarray = field(repr=False)   # (H, W, C), (L, C) or (units,)
    activation: str | None = None          # the layer's activation, e.g. "relu", "softmax"
    sources: tuple[str, ...] = ()          # the layers it reads ("input": the model's input)
    scope: tuple[str, ...] = ()            # the nested models it lies in, outermost first

    @property
    def values_are(self) -> str:
        """What the numbers are: "probability" after softmax or sigmoid, "input value" for the
        model's input (an InputLayer), else "activation value"."""
        if self.kind == "InputLayer":
            return "input value"
        return "probability" if self.activation in ("softmax", "sigmoid") else "activation value"

    @property
    def spatial_rank(self) -> int:
        """2 for images, 1 for signals, 0 for flat vectors."""
        return max(self.maps.ndim - 1, 0)

    @property
    def channels(self) -> int:
        return int(self.maps.shape[-1]) if self.maps.ndim else 1

    @property
    def color_scale(self) -> ColorScale:
        """One scale shared by every channel of this layer, so their brightness compares:
        diverging around zero when any value is negative, else from 0 up."""
        return color_scale(self.maps)


def feature_maps(model: Any, example: Any, layers: Sequence[Any] | None = None) -> list[LayerMaps]:
    """Every node's output (or those in `layers`, by name or index) for one input example.

    A functional model's nodes are its layer calls in computing order, InputLayers and merge
    layers (Add, Concatenate, ...) included; each map says which layers it was made from
    (`sources`). A model used as a layer gives a map per layer inside it ("model/layer"); its
    own name in `layers` keeps the map of its output. `{maps.layer: maps.maps for maps in feature_maps(model, x)}` keys them by name.

    Args:
        model: a Sequential, a functional Model (one input) or a list of channels-last layers.
        example: one input, e.g. (28, 28, 1) or (L, C); a batch of one also works.
        layers: names or indices to keep; default all.

    Returns:
        LayerMaps in node order, float32 NumPy arrays without the batch axis.

    Example:
        >>> maps = feature_maps(model, x_test[0])          # doctest: +SKIP
        >>> [m.maps.shape for m in maps][:2]                # doctest: +SKIP
        [(26, 26, 64), (13, 13, 64)]
    """
    import torch

    nodes = _model.graph_nodes(model)
    keep = None if layers is None else {_model.find_node(model, item).index for item in layers}
    _model.eval_mode(model)
    with torch.no_grad():
        outputs = _model.run_nodes(model, _model.as_batch(model, example))
    return [
        LayerMaps(node.index, node.name, node.kind, outputs[node.index][0].detach().cpu().numpy(),
                  _activation_name(node.layer), node.sources, node.scope)
        for node in nodes if keep is None or node.index in keep
    ]


def _activation_name(layer: Any) -> str | None:
    kind = _model.layer_kind(layer)
    if kind in ("Softmax", "ReLU"):
        return kind.lower()
    activation = _model.config_of(layer).get("activation")
    return activation if isinstance(activation, str) else None


@dataclass(frozen=True)
class LearnedFilters:
    """A conv layer's kernel in Keras layout: (kh, kw, C_in / groups, C_out) or
    (k, C_in / groups, C_out). With `groups` > 1 filter o reads only the input channels of its
    group (`input_channels(o)`); a DepthwiseConv's kernel is shown so, with groups = C_in."""

    layer: str
    kind: str
    kernel: np.ndarray = field(repr=False)
    bias: np.ndarray | None = field(default=None, repr=False)
    groups: int = 1

    @property
    def count(self) -> int:
        return int(self.kernel.shape[-1])

    def filter(self, index: int) -> np.ndarray:
        """Filter `index` as (kh, kw, C_in / groups) or (k, C_in / groups): its weights on
        `input_channels(index)`, in order."""
        return self.kernel[..., index]

    def input_channels(self, index: int) -> range:
        """The input channels filter `index` reads (all of them for one group)."""
        per_group = int(self.kernel.shape[-2])
        group = index // (self.count // self.groups)
        return range(group * per_group, (group + 1) * per_group)

    def strongest_input(self, index: int) -> int:
        """The input channel whose weights in filter `index` are largest (sum of |weight|), by its
        number in the layer's input."""
        one = np.abs(np.asarray(self.filter(index), dtype=np.float64))    # (*k, C_in / groups)
        return self.input_channels(index)[int(one.reshape(-1, one.shape[-1]).sum(axis=0).argmax())]

    @property
    def color_scale(self) -> ColorScale:
        """One diverging scale for every weight of the layer, centred on zero."""
        return color_scale(self.kernel, signed=True, percentile=99.0)


def learned_filters(model: Any, layer: Any = None) -> LearnedFilters:
    """The kernel and bias of a Conv1D/Conv2D (grouped or not) or DepthwiseConv1D/2D layer
    (default the first one).

    Raises:
        ValueError: when the model has no such conv layer.
    """
    from convscope.explain.steps import CONV_KINDS

    node = _model.find_node(model, layer, CONV_KINDS)
    kernel, bias, groups = _model.conv_weights(node.layer)
    return LearnedFilters(node.name, node.kind, kernel, bias, groups)


# --------------------------------------------------------------------------- colour scales


@dataclass(frozen=True)
class ColorScale:
    """How to colour an array: values from `low` to `high`, and what the colours mean.

    Attributes:
        diverging: signed values: `low == -high`, zero in the middle (white on a red/blue map).
        clipped: share of the values beyond [low, high] (drawn in the end colours).
        meaning: the scale in words, for captions (the colours are the renderer's choice).
    """

    low: float
    high: float
    diverging: bool
    clipped: float = 0.0
    meaning: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "diverging": self.diverging, "clipped": self.clipped,
                "meaning": self.meaning}


def color_scale(values: Any, *, signed: bool | None = None, percentile: float = 100.0) -> ColorScale:
    """A scale for `values`: diverging around zero when they are signed, else from 0 up.

    Args:
        values: any array (a layer's maps, a kernel, one channel).
        signed: force a diverging (True) or a zero-based (False) scale; default: whether any
            value is negative.
        percentile: the scale ends at this percentile of |values| (below 100 keeps a few
            outliers from washing the rest out; they are counted in `clipped`).

    Example:
        >>> color_scale([-2.0, 1.0, 0.5]).low
        -2.0
    """
    array = np.asarray(values, dtype=np.float64)
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return ColorScale(0.0, 1.0, bool(signed), 0.0, "no values")
    signed = bool(finite.min() < 0) if signed is None else signed
    magnitude = np.abs(finite) if signed else np.maximum(finite, 0.0)
    limit = float(np.percentile(magnitude, percentile)) or float(magnitude.max()) or 1.0
    clipped = float(np.mean(magnitude > limit))
    if signed:
        return ColorScale(-limit, limit, True, clipped, f"from -{limit:.3g} to {limit:.3g}, 0 in the middle")
    low = min(float(finite.min()), 0.0)
    return ColorScale(low, limit, False, clipped, f"from {low:.3g} (no response) to {limit:.3g}")
