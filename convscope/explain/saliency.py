"""Which input pixels matter for a class: gradient saliency and Grad-CAM.

Both use the class *score* before softmax (the logit): when the last Dense layer has a softmax
activation, the score is recomputed from its input and weights, because gradients of a
probability also depend on every other class.

Gradient saliency: |d score / d input|, the largest over channels, shape (H, W) or (L,).
Grad-CAM: for the last conv layer's maps A (h, w, C), weights alpha_c = mean of d score / d A_c,
heatmap = ReLU(sum_c alpha_c A_c), resized to the input and scaled to [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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
        class_name: the target's name, when class names were given.
        score_kind: what `score` is: "logit" (before softmax) or "probability" (a sigmoid output).
        probability: the probability the model gives the target (softmax of the logits).
    """

    method: str
    target: int
    score: float
    example: np.ndarray = field(repr=False)
    heatmap: np.ndarray = field(repr=False)
    layer: str | None = None
    coarse: np.ndarray | None = field(default=None, repr=False)
    class_name: str | None = None
    score_kind: str = "logit"
    probability: float | None = None

    @property
    def label(self) -> str:
        """The class in words: its name, else its index."""
        return self.class_name if self.class_name is not None else str(self.target)

    @property
    def score_text(self) -> str:
        """E.g. "logit 6.22, probability 97.1%"."""
        text = f"{self.score_kind} {self.score:.3g}"
        if self.probability is not None and self.score_kind != "probability":
            text += f", probability {self.probability:.1%}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: method, target, class_name, score, score_kind, probability, layer, heatmap."""
        return {"method": self.method, "target": self.target, "class_name": self.class_name,
                "label": self.label, "score": self.score, "score_kind": self.score_kind,
                "probability": self.probability, "layer": self.layer, "heatmap": self.heatmap.tolist()}


def _described(saliency: Saliency, last: Any, scores: Any, class_names: Sequence[str] | None) -> Saliency:
    """`saliency` with its class name, what its score is, and the target's probability; `last`
    is the layer making the model's output."""
    sigmoid = _model.config_of(last).get("activation") == "sigmoid" or _model.layer_kind(last) == "Sigmoid"
    values = np.asarray(scores.detach().numpy()[0], dtype=np.float64)
    if sigmoid:
        probability: float | None = float(values[saliency.target])
    else:
        exponents = np.exp(values - values.max())
        probability = float(exponents[saliency.target] / exponents.sum())
    names = list(class_names) if class_names is not None else []
    name = str(names[saliency.target]) if saliency.target < len(names) else None
    return replace(saliency, class_name=name, score_kind="probability" if sigmoid else "logit",
                   probability=probability)


def _is_softmax(layer: Any) -> bool:
    """A Softmax layer or Activation("softmax"): the scores are its input."""
    kind = _model.layer_kind(layer)
    return kind == "Softmax" or (kind == "Activation" and _model.config_of(layer).get("activation") == "softmax")


def _scores(model: Any, x: Any, keep: int | None = None) -> tuple[Any, Any, Any]:
    """(class scores (1, K) before any softmax, output of node `keep` or None, the output layer).

    The nodes run in order up to the one making the model's output: a Softmax there is
    skipped (the scores are its input), a Dense with a softmax activation gives x @ W + b.
    """
    import torch

    nodes = _model.graph_nodes(model)
    last = _model.output_node(model)
    if _is_softmax(last.layer) and last.inputs:
        last = nodes[last.inputs[0]]
    outputs: list[Any] = []
    for node in nodes[:last.index + 1]:
        if node.index == last.index and node.kind == "Dense" and _model.config_of(node.layer).get("activation") == "softmax":
            kernel, *rest = node.layer.get_weights()
            value = outputs[node.inputs[0]] if node.inputs else x
            value = value @ torch.as_tensor(kernel, dtype=value.dtype)
            outputs.append(value + torch.as_tensor(rest[0], dtype=value.dtype) if rest else value)
        else:
            outputs.append(_model.call_node(node, x, outputs))
    kept = outputs[keep] if keep is not None and keep < len(outputs) else None
    return outputs[last.index], kept, _model.output_node(model).layer


def _target(scores: Any, target: int | None) -> int:
    classes = int(scores.shape[-1])
    chosen = int(scores[0].argmax()) if target is None else int(target)
    if not 0 <= chosen < classes:
        raise ValueError(f"saliency: target class {target} does not exist; the model has "
                         f"{classes} outputs (0..{classes - 1}).")
    return chosen


def gradient_saliency(model: Any, example: Any, target: int | None = None, *,
                      class_names: Sequence[str] | None = None) -> Saliency:
    """|d score(target) / d input|, the largest over channels.

    Args:
        example: one input (H, W, C) / (L, C) (a batch of one also works).
        target: class to explain; default the predicted class.
        class_names: names of the classes, so the result says which class it explains.

    Returns:
        Saliency with heatmap (H, W) for images, (L,) for signals.
    """
    import torch

    _model.eval_mode(model)
    x = _model.as_batch(model, example).requires_grad_(True)
    scores, _, last = _scores(model, x)
    chosen = _target(scores, target)
    (gradient,) = torch.autograd.grad(scores[0, chosen], [x])
    heatmap = gradient[0].abs().amax(dim=-1).numpy()
    result = Saliency("gradient", chosen, float(scores[0, chosen].detach()), x[0].detach().numpy(), heatmap)
    return _described(result, last, scores, class_names)


def grad_cam(model: Any, example: Any, target: int | None = None, layer: Any = None, *,
             class_names: Sequence[str] | None = None) -> Saliency:
    """Grad-CAM heatmap of `target` (default: predicted class) from a conv layer (default: last);
    `class_names` name the class in the result.

    Raises:
        ValueError: when the model has no Conv1D/Conv2D layer.
    """
    import torch
    import torch.nn.functional as F

    if layer is None:  # the last conv node in computing order: in a graph, the one nearest the output
        convs = [node.index for node in _model.graph_nodes(model) if node.kind in ("Conv1D", "Conv2D")]
        layer = convs[-1] if convs else "Conv2D"
    conv = _model.find_node(model, layer, ("Conv1D", "Conv2D"))
    _model.eval_mode(model)
    x = _model.as_batch(model, example)
    scores, maps, last = _scores(model, x, keep=conv.index)
    if maps is None:
        raise ValueError(f"grad_cam: layer {conv.name!r} does not lead to the model's output; pick a conv "
                         "layer before it.")
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
    result = Saliency("grad_cam", chosen, float(scores[0, chosen].detach()), x[0].numpy(), heatmap,
                      conv.name, coarse[0].detach().numpy())
    return _described(result, last, scores, class_names)
