"""Which input pixels matter for a class: gradient saliency and Grad-CAM.

Both use the class *score* before softmax (the logit): when the last Dense layer has a softmax
activation, the score is recomputed from its input and weights, because gradients of a
probability also depend on every other class.

Gradient saliency: |d score / d input|, the largest over channels, shape (H, W) or (L,).
Grad-CAM: for the last conv layer's maps A (h, w, C), weights alpha_c = mean of d score / d A_c,
heatmap = ReLU(sum_c alpha_c A_c), resized to the input and scaled to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convscope.explain import _model


@dataclass(frozen=True)
class Saliency:
    """A heatmap over one input example.

    Attributes:
        method: "gradient" or "grad_cam".
        target: the class explained.
        example: the input (H, W, C) or (L, C).
        heatmap: (H, W) or (L,), non-negative; Grad-CAM's is scaled to [0, 1].
        layer: the conv layer Grad-CAM used (None for gradients).
        coarse: Grad-CAM's map at the conv layer's resolution, before resizing.
    """

    method: str
    target: int
    score: float
    example: np.ndarray = field(repr=False)
    heatmap: np.ndarray = field(repr=False)
    layer: str | None = None
    coarse: np.ndarray | None = field(default=None, repr=False)


def _scores(layers: list[Any], x: Any, keep: int | None = None) -> tuple[Any, Any]:
    """(class scores (1, K) before any softmax, output of layer `keep` or None)."""
    import torch

    kept = None
    stop = len(layers)
    last = layers[-1]
    config = _model.config_of(last)
    if _model.layer_kind(last) == "Softmax" or (
            _model.layer_kind(last) == "Activation" and config.get("activation") == "softmax"):
        stop -= 1
    for index, layer in enumerate(layers[:stop]):
        is_softmax_dense = (index == stop - 1 and _model.layer_kind(layer) == "Dense"
                            and config.get("activation") == "softmax")
        if is_softmax_dense:
            kernel, *rest = layer.get_weights()
            x = x @ torch.as_tensor(kernel, dtype=x.dtype)
            if rest:
                x = x + torch.as_tensor(rest[0], dtype=x.dtype)
        else:
            x = layer(x)
        if index == keep:
            kept = x
    return x, kept


def _target(scores: Any, target: int | None) -> int:
    classes = int(scores.shape[-1])
    chosen = int(scores[0].argmax()) if target is None else int(target)
    if not 0 <= chosen < classes:
        raise ValueError(f"saliency: target class {target} does not exist; the model has "
                         f"{classes} outputs (0..{classes - 1}).")
    return chosen


def gradient_saliency(model: Any, example: Any, target: int | None = None) -> Saliency:
    """|d score(target) / d input|, the largest over channels.

    Args:
        example: one input (H, W, C) / (L, C) (a batch of one also works).
        target: class to explain; default the predicted class.

    Returns:
        Saliency with heatmap (H, W) for images, (L,) for signals.
    """
    import torch

    layers = _model.model_layers(model)
    _model.eval_mode(model)
    x = _model.as_batch(model, example).requires_grad_(True)
    scores, _ = _scores(layers, x)
    chosen = _target(scores, target)
    (gradient,) = torch.autograd.grad(scores[0, chosen], [x])
    heatmap = gradient[0].abs().amax(dim=-1).numpy()
    return Saliency("gradient", chosen, float(scores[0, chosen].detach()), x[0].detach().numpy(), heatmap)


def grad_cam(model: Any, example: Any, target: int | None = None, layer: Any = None) -> Saliency:
    """Grad-CAM heatmap of `target` (default: predicted class) from a conv layer (default: last).

    Raises:
        ValueError: when the model has no Conv1D/Conv2D layer.
    """
    import torch
    import torch.nn.functional as F

    layers = _model.model_layers(model)
    if layer is None:
        convs = [i for i, m in enumerate(layers) if _model.layer_kind(m) in ("Conv1D", "Conv2D")]
        layer = convs[-1] if convs else "Conv2D"
    index, conv = _model.find_layer(model, layer, ("Conv1D", "Conv2D"))
    _model.eval_mode(model)
    x = _model.as_batch(model, example)
    scores, maps = _scores(layers, x, keep=index)
    chosen = _target(scores, target)
    (gradient,) = torch.autograd.grad(scores[0, chosen], [maps])
    spatial_axes = tuple(range(1, maps.ndim - 1))
    alpha = gradient.mean(dim=spatial_axes, keepdim=True)           # (1, 1[, 1], C)
    coarse = torch.relu((alpha * maps).sum(dim=-1))                 # (1, h[, w])
    size = tuple(x.shape[1:-1])
    mode = "bilinear" if len(size) == 2 else "linear"
    resized = F.interpolate(coarse[:, None], size=size, mode=mode, align_corners=False)[0, 0]
    resized = resized.detach()
    peak = float(resized.max())
    heatmap = (resized / peak if peak > 0 else resized).detach().numpy()
    return Saliency("grad_cam", chosen, float(scores[0, chosen].detach()), x[0].numpy(), heatmap,
                    _model.layer_name(conv, index), coarse[0].detach().numpy())
