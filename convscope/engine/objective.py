"""The loss of one batch and the running logs of an epoch, for models with one or several outputs.

The total loss is Keras's: the sum over outputs of loss weight x that output's loss (with
sample weights, sum(weight x loss) / number of loss values, the weights one per sample or one
per element, e.g. per timestep or pixel), plus the layers' regularization penalties. An output
that carries a mask (`convscope.layers.masking`: Embedding(mask_zero=True), Masking) weighs its
loss and metrics by it, as Keras does: the loss is the mean over the real steps, the metrics
count the real steps alone. Logs accumulate on the device as one vector per batch (`compiled.layout` says what
each entry is) and are read only when someone looks, so training has no per-step host sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from convscope.engine.arrays import Targets, Weights, as_list
from convscope.engine.compiled import LogLayout, averaged
from convscope.layers import masking
from convscope.losses.core import as_float_tensor, same_rank

if TYPE_CHECKING:
    from convscope.engine.compiled import Compiled
    from convscope.engine.protocol import TrainableModel


@dataclass
class Accumulator:
    """Running sums of each batch's log vector weighted by its batch size, kept on the device;
    metrics that keep their own state (`update_state`/`result`) are read from themselves."""

    layout: LogLayout
    sums: torch.Tensor | None = None
    count: int = 0

    @property
    def names(self) -> list[str]:
        return self.layout.columns

    def add(self, values: torch.Tensor, batch_size: int) -> None:
        self.sums = values * batch_size if self.sums is None else self.sums + values * batch_size
        self.count += batch_size

    def result(self, prefix: str = "") -> dict[str, Any]:
        """The logs: floats, and NumPy arrays for metrics whose result is a vector (`log_value`)."""
        if self.sums is None:
            return {}
        means = (self.sums / self.count).tolist()
        values = {name: means[column] for name, column in self.layout.means}
        values.update({name: means[numerator] / means[denominator] if means[denominator] else 0.0
                       for name, numerator, denominator in self.layout.ratios})
        values.update({name: log_value(metric.result()) for name, metric, _ in self.layout.stateful})
        return {prefix + name: values[name] for name in self.layout.order}


def log_value(result: Any) -> float | np.ndarray:
    """A metric's result as the logs hold it, as Keras 3 logs it: a float when it is one number,
    else a float32 NumPy array (F1Score(average=None): one per class; TruePositives(thresholds=
    [0.3, 0.5]): one per threshold)."""
    if isinstance(result, torch.Tensor):
        values = result.detach().float().cpu().numpy()
    else:  # a number, a list, or a custom metric's add_variable state (it reads as an array)
        values = np.asarray(result, dtype=np.float32)
    return float(values.reshape(-1)[0]) if values.size == 1 else values


def note_masks(model: Any, compiled: Compiled) -> None:
    """Set `compiled.masked` to whether `model` holds a layer that makes masks (its log layout
    then counts each metric's real steps over all batches)."""
    masked = masking.makes_masks(module for module in model.modules() if hasattr(module, "makes_masks"))
    if masked != compiled.masked:
        compiled.masked = masked
        compiled.__dict__.pop("layout", None)  # the cached layout was made for the other case


def new_totals(compiled: Compiled) -> Accumulator:
    """An empty Accumulator for one epoch or evaluation; stateful metrics are reset."""
    for _, metric, _ in compiled.layout.stateful:
        metric.reset_state()
    return Accumulator(compiled.layout)


def output_list(outputs: Any) -> list[torch.Tensor]:
    """A model's outputs as float32 tensors in output order: one tensor, a list, or a dict (in
    sorted key order, the order a functional model lists dict outputs)."""
    if isinstance(outputs, torch.Tensor):
        return [as_float32(outputs)]
    if isinstance(outputs, dict):
        return [as_float32(outputs[key]) for key in sorted(outputs)]
    return [as_float32(output) for output in outputs]


def as_float32(output: torch.Tensor) -> torch.Tensor:
    """`output` as float32, keeping the mask it carries."""
    return masking.attach(output.float(), masking.output_mask(output))


def mask_weight(output: torch.Tensor, weight: torch.Tensor | None, loss: bool) -> torch.Tensor | None:
    """`weight` combined with the mask `output` carries, as Keras's `apply_mask`: for the loss
    the mask scaled by (values / real values), so the mean over every value is the mean over
    the real ones; for metrics the mask itself. `weight` alone when there is no mask."""
    mask = masking.output_mask(output)
    if mask is None:
        return weight
    real = mask.to(torch.float32)
    if loss:
        count = real.sum()
        real = real * torch.where(count > 0, real.numel() / count.clamp_min(1), 0.0)  # 0 real steps: 0
    if weight is None:
        return real
    weight = weight.reshape(*weight.shape, *[1] * (real.dim() - weight.dim())) if weight.dim() < real.dim() else weight
    return weight * real


def batch_losses(model: TrainableModel, compiled: Compiled, outputs: list[torch.Tensor], targets: Targets,
                 weights: Weights) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(total loss, each output's own loss before its loss weight) for one batch."""
    if compiled.single:
        head = compiled.heads[0]
        assert head.loss is not None and isinstance(targets, torch.Tensor)
        loss = head.loss._batch_mean(outputs[0], targets, logits=head.use_logits,  # one output: one weight tensor
                                     sample_weight=mask_weight(outputs[0], weights, loss=True))  # type: ignore[arg-type]
        parts, total = [loss], loss if head.loss_weight is None else loss * head.loss_weight
    else:
        parts, terms = [], []
        for head, output, target, weight in zip(compiled.heads, outputs, as_list(targets, len(outputs)),
                                                as_list(weights, len(outputs))):
            if head.loss is None:
                continue
            loss = head.loss._batch_mean(output, target, logits=head.use_logits,
                                         sample_weight=mask_weight(output, weight, loss=True))
            parts.append(loss)
            terms.append(loss if head.loss_weight is None else loss * head.loss_weight)
        total = torch.stack(terms).sum() if len(terms) > 1 else terms[0]
    penalty = model.regularization_penalty()
    return (total if penalty is None else total + penalty), parts


def batch_values(compiled: Compiled, outputs: list[torch.Tensor], targets: Targets, weights: Weights,
                 total: torch.Tensor, parts: list[torch.Tensor]) -> torch.Tensor:
    """The batch's log vector (`compiled.layout.columns`), detached float32; stateful metrics
    are updated instead."""
    layout = compiled.layout
    if len(layout.columns) == 1 and not layout.stateful:
        return total.detach().reshape(1)
    if compiled.single and not layout.stateful and not layout.ratios \
            and masking.output_mask(outputs[0]) is None:  # the common case, kept short
        head = compiled.heads[0]
        scored = head.output_activation(outputs[0]) if head.use_logits else outputs[0]
        scorers: list[Any] = [metric for _, metric in head.metrics]
        return torch.stack([total, *(scorer.batch(scored, targets).mean() for scorer in scorers)]).detach()
    pieces = [total, *(parts if len(parts) > 1 else [])]
    count = len(outputs)
    target_list, weight_list = as_list(targets, count), as_list(weights, count)
    probabilities = [head.output_activation(output) if head.use_logits else output
                     for head, output in zip(compiled.heads, outputs)]
    masks = [mask_weight(output, None, loss=False) for output in outputs]
    for head, scores_of, target, mask in zip(compiled.heads, probabilities, target_list, masks):
        for _, metric in head.metrics:
            scorer: Any = metric  # a MeanMetricWrapper (`batch`) or any Metric (`update_state`)
            if averaged(metric) and compiled.masked:  # ratio columns: the real steps of every batch count
                pieces += weighted_sums(scorer, scores_of, target, mask) if mask is not None else \
                    [scorer.batch(scores_of, target).mean(), torch.ones((), device=scores_of.device)]
            elif averaged(metric) and mask is not None:  # one batch alone (train_on_batch): its real steps
                numerator, denominator = weighted_sums(scorer, scores_of, target, mask)
                pieces.append(numerator / denominator)
            elif averaged(metric):
                pieces.append(scorer.batch(scores_of, target).mean())
            else:
                scorer.update_state(target, scores_of)
    weight_list = [mask_weight(output, weight, loss=False) for output, weight in zip(outputs, weight_list)]
    for head, scores_of, target, weight in zip(compiled.heads, probabilities, target_list, weight_list):
        for _, metric in head.weighted_metrics:
            scorer = metric
            if not averaged(metric):
                scorer.update_state(target, scores_of, sample_weight=weight)
                continue
            if weight is None:
                pieces += [scorer.batch(scores_of, target).mean(), torch.ones((), device=scores_of.device)]
            else:
                pieces += weighted_sums(scorer, scores_of, target, weight)
    return torch.stack(pieces).detach()


def weighted_sums(metric: Any, outputs: torch.Tensor, targets: torch.Tensor,
                  weight: torch.Tensor) -> list[torch.Tensor]:
    """[sum of weight x score, sum of weight], each over the batch size: their ratio is Keras's
    weighted mean. Per-element weights (N, ...) meet the metric's per-element scores, reduced by
    their mean to the weight's rank, as Keras's `reduce_to_samplewise_values` does.

    Raises:
        ValueError: for per-element weights on a metric that scores whole samples only.
    """
    count = len(outputs)
    if weight.dim() == 1:
        scores = metric.batch(outputs, targets)
        return [(scores * weight).sum() / count, weight.sum() / count]
    function = getattr(metric, "fn", None)
    scores = as_float_tensor(function(targets, outputs, **metric.fn_kwargs) if function is not None
                             else metric.batch(outputs, targets))
    scores, weight = same_rank(scores, weight)
    if scores.dim() < weight.dim():
        raise ValueError(f"sample_weight of shape {tuple(weight.shape)} (one weight per element) cannot weigh the "
                         f"metric '{getattr(metric, 'name', metric)}', which scores each sample as a whole (scores "
                         f"{tuple(scores.shape)}); pass one weight per sample, shape ({count},).")
    if scores.dim() > weight.dim():
        scores = scores.mean(dim=tuple(range(weight.dim(), scores.dim())))
    weight = torch.broadcast_to(weight, scores.shape)
    return [(scores * weight).sum() / count, weight.sum() / count]
