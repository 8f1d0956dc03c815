"""Plain data about what a CNN does: reference operations, conv/pool/dense/merge steps, shapes,
feature maps, filters, edge filters, saliency, interpretation and the model's graph.

Sequential models and functional graphs (residual connections, Inception-style branches) are
explained alike: each layer call is a node, and a node's input is what the nodes it reads made.
A model used as a layer of another is walked into: its layers are nodes named "model/layer".
A grouped convolution's filter (Conv2D(groups=g), DepthwiseConv2D) is worked out over the input
channels of its group only. A SimpleRNN, LSTM or GRU unit is worked out gate by gate at one time
step (`recurrent_steps`).

Everything here returns arrays and dataclasses; `convscope.plots`, the CLI and the web app
display them. `convscope.explain.reference` is pure NumPy; the other modules import torch
when first used, so `import convscope.explain` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from convscope.explain.reference import (
    avg_pool,
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    dense,
    max_pool,
    max_pool1d,
    max_pool2d,
    output_size,
    relu,
    same_padding,
)

# public name -> module that defines it (imported on first access)
_LAZY = {
    "ConvTerm": "steps", "ConvSteps": "steps", "PoolSteps": "pooling_steps", "DenseSteps": "dense_unit_steps",
    "conv_steps": "steps", "pool_steps": "pooling_steps", "dense_steps": "dense_unit_steps",
    "conv_steps_from_arrays": "steps", "pool_steps_from_arrays": "pooling_steps",
    "Stage": "stages", "ChannelPart": "stages", "ColorScale": "maps", "color_scale": "maps",
    "ShapeStep": "shapes", "shape_journey": "shapes", "format_shape_journey": "shapes",
    "LayerMaps": "maps", "feature_maps": "maps", "LearnedFilters": "maps", "learned_filters": "maps",
    "EdgeDemo": "edges", "edge_demo": "edges", "line_kernels": "edges",
    "Interpretation": "interpretation", "interpret": "interpretation", "TopLoss": "interpretation",
    "TrainingCurves": "interpretation", "training_curves": "interpretation",
    "Saliency": "saliency", "gradient_saliency": "saliency", "grad_cam": "saliency",
    "MergeSteps": "merges", "MergeTerm": "merges", "ConcatPiece": "merges", "merge_steps": "merges",
    "merge_steps_from_arrays": "merges", "ModelGraph": "graph", "model_graph": "graph",
    "RecurrentSteps": "recurrent_unit_steps", "GateSteps": "recurrent_unit_steps",
    "recurrent_steps": "recurrent_unit_steps",
    "recurrent_steps_from_arrays": "recurrent_unit_steps",
}

__all__ = [
    "avg_pool", "avg_pool1d", "avg_pool2d", "conv1d", "conv2d", "dense", "max_pool",
    "max_pool1d", "max_pool2d", "output_size", "relu", "same_padding", *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"convscope.explain.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'convscope.explain' has no attribute {name!r}")
