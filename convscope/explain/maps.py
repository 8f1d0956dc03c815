"""Feature maps (every layer's output for one input) and learned filters (conv kernels).

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
    """One layer's output for one example."""

    index: int
    layer: str
    kind: str
    maps: np.ndarray = field(repr=False)   # (H, W, C), (L, C) or (units,)

    @property
    def spatial_rank(self) -> int:
        """2 for images, 1 for signals, 0 for flat vectors."""
        return max(self.maps.ndim - 1, 0)

    @property
    def channels(self) -> int:
        return int(self.maps.shape[-1]) if self.maps.ndim else 1


def feature_maps(model: Any, example: Any, layers: Sequence[Any] | None = None) -> list[LayerMaps]:
    """Every layer's output (or those in `layers`, by name or index) for one input example.

    Args:
        model: a Sequential or a list of channels-last layers.
        example: one input, e.g. (28, 28, 1) or (L, C); a batch of one also works.
        layers: names or indices to keep; default all.

    Returns:
        LayerMaps in model order, float32 NumPy arrays without the batch axis.

    Example:
        >>> maps = feature_maps(model, x_test[0])          # doctest: +SKIP
        >>> [m.maps.shape for m in maps][:2]                # doctest: +SKIP
        [(26, 26, 64), (13, 13, 64)]
    """
    import torch

    all_layers = _model.model_layers(model)
    keep = None if layers is None else {_model.find_layer(model, item)[0] for item in layers}
    _model.eval_mode(model)
    with torch.no_grad():
        outputs = _model.run_layers(model, _model.as_batch(model, example))
    return [
        LayerMaps(index, _model.layer_name(layer, index), _model.layer_kind(layer),
                  outputs[index][0].detach().cpu().numpy())
        for index, layer in enumerate(all_layers) if keep is None or index in keep
    ]


@dataclass(frozen=True)
class LearnedFilters:
    """A conv layer's kernel in Keras layout: (kh, kw, C_in, C_out) or (k, C_in, C_out)."""

    layer: str
    kind: str
    kernel: np.ndarray = field(repr=False)
    bias: np.ndarray | None = field(default=None, repr=False)

    @property
    def count(self) -> int:
        return int(self.kernel.shape[-1])

    def filter(self, index: int) -> np.ndarray:
        """Filter `index` as (kh, kw, C_in) or (k, C_in)."""
        return self.kernel[..., index]


def learned_filters(model: Any, layer: Any = None) -> LearnedFilters:
    """The kernel and bias of a Conv1D/Conv2D layer (default the first one).

    Raises:
        ValueError: when the model has no such conv layer.
    """
    index, conv = _model.find_layer(model, layer, ("Conv1D", "Conv2D"))
    weights = conv.get_weights()
    return LearnedFilters(_model.layer_name(conv, index), _model.layer_kind(conv),
                          np.asarray(weights[0]), np.asarray(weights[1]) if len(weights) > 1 else None)
