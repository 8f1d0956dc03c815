"""What `compile` decided, the state the training loop runs with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from convscope import losses, optimizers
from convscope import metrics as metrics_module
from convscope.layers import Layer


@dataclass
class Compiled:
    """What `compile` decided: optimizer, loss, metrics, precision and device."""

    optimizer_recipe: optimizers.Optimizer | None
    optimizer: torch.optim.Optimizer
    keras_optimizer: optimizers.Optimizer  # the recipe, or a ready torch optimizer seen through it
    loss: losses.Loss
    metrics: list[tuple[str, metrics_module.Metric]]
    precision: str
    autocast_dtype: torch.dtype | None
    use_logits: bool
    output_activation: Callable[[torch.Tensor], torch.Tensor]
    constrained_layers: list[Layer]
    epochs_done: int = 0
    threads: int | str | None = None  # None or "auto": `fit` chooses while it runs

    @property
    def log_names(self) -> list[str]:
        return ["loss", *(name for name, _ in self.metrics)]


def check_threads(threads: int | str | None) -> int | str | None:
    """`compile`'s threads setting: a positive integer, "auto" or None.

    Raises:
        ValueError: for anything else.
    """
    if threads is None or threads == "auto" or (isinstance(threads, int) and not isinstance(threads, bool)
                                                and threads > 0):
        return threads
    raise ValueError(f"compile: threads must be a positive integer, 'auto' or None; got {threads!r}.")
