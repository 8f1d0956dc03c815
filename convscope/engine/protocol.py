"""What the engine needs from a model.

`fit`, `evaluate`, `predict`, the callbacks and the checkpointer train anything that meets
`TrainableModel`; the engine never imports a model class. A convscope model (`Sequential`,
and any graph model built on `convscope.models.model.Model`) is a `torch.nn.Module` that meets
it, so the engine can also hand it to DistributedDataParallel.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import torch

from convscope.engine.compiled import Compiled
from convscope.layers.input_spec import Shape


class TrainableModel(Protocol):
    """A compiled model the training loop can run: channels-last batches in, outputs out."""

    compiled: Compiled | None
    history: Any  # the History of the last `fit`
    stop_training: bool  # callbacks set it to end `fit` after the current batch
    nonfinite_loss: bool  # `fit` sets it when training stopped on a NaN or infinite loss

    @property
    def device(self) -> torch.device: ...

    @property
    def learning_rate(self) -> float: ...

    @learning_rate.setter
    def learning_rate(self, value: float) -> None: ...

    # -- torch.nn.Module ---------------------------------------------------------------------------
    def __call__(self, inputs: Any, logits: Any = False) -> Any:
        """Outputs for a channels-last batch (one tensor, or a list with one per input): one
        tensor, or for several outputs a list (or a dict, read in sorted key order) in
        `data_keys()` order. `logits=True` (one flag per output for several) stops an output
        before its final softmax/sigmoid."""
        ...

    def parameters(self, recurse: bool = True) -> Iterator[torch.nn.Parameter]: ...
    def train(self, mode: bool = True) -> Any: ...
    def eval(self) -> Any: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any: ...

    # -- what compile decided, and the model's shapes ----------------------------------------------
    def require_compiled(self, action: str) -> Compiled:
        """The compiled state; a ValueError naming `action` before `compile`."""
        ...

    def require_output_shape(self, action: str) -> Shape:
        """The output shape with its batch axis, e.g. (None, 10)."""
        ...

    def require_output_shapes(self, action: str) -> list[Shape]:
        """Every output's shape with its batch axis, in `data_keys()` order."""
        ...

    def data_keys(self) -> tuple[list[str], list[str]]:
        """The names that key x and y dicts (and prefix per-output logs): one per input and one
        per output, in the order the model takes its inputs and returns its outputs."""
        ...

    def check_input_shape(self, shape: tuple[int, ...], argument: str, index: int = 0) -> None:
        """Check a batch shape against input `index` of the model (building an unbuilt model
        for it); a ValueError naming `argument` on mismatch."""
        ...

    def output_activation_name(self) -> str | None:
        """The activation the output ends with ("softmax", "sigmoid", ...) when it can be split off."""
        ...

    def regularization_penalty(self) -> torch.Tensor | None:
        """The sum of the layers' regularization penalties, or None when there are none."""
        ...

    # -- persistence: checkpoints and Keras's saving callbacks -------------------------------------
    def write_checkpoint_files(self, folder: Path) -> None:
        """Write everything a checkpoint needs to rebuild and resume the model into `folder`."""
        ...

    def read_checkpoint_files(self, folder: Path) -> None:
        """Load weights and optimizer state written by `write_checkpoint_files` from `folder`."""
        ...

    def save(self, path: str | os.PathLike[str]) -> None: ...
    def save_weights(self, path: str | os.PathLike[str]) -> None: ...
