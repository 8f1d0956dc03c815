"""One call that checks a layer the way every convscope layer is checked: `run_layer_test`.

Write a layer, then test it like the built-in ones:

    from convscope import layers
    from convscope.testing import run_layer_test

    result = run_layer_test(layers.Conv2D, {"filters": 64, "kernel_size": 3}, (None, 13, 13, 32),
                            expected_output_shape=(None, 11, 11, 64), expected_params=18_496)
    result.checks  # ('shape', 'params', 'config', 'save', 'gradients', 'kernels', 'channels_last', 'train')

The layer is built on a model input of `input_shape` (batch axis first, None allowed; a list of
shapes for a layer that takes a list, such as Add or Concatenate) and run on random float32
data. The checks, by name (`CHECKS`):

- shape: the output's shape is `compute_output_shape` of the input's (and `expected_output_shape`).
- params: `count_params()` is the size of the layer's torch parameters and buffers, the trainable
  count that of the parameters that need a gradient (and `expected_params`).
- config: `layer_cls.from_config(layer.get_config())` (through JSON) has the same config and, with
  the weights copied by `get_weights`/`set_weights`, gives identical outputs.
- save: a one-layer model (a `Sequential`, or a functional `Model` for a list of inputs) saved
  with `model.save` and read by `load_model` has the same config and gives identical predictions.
- gradients: the gradient of a random scalar function of the output with respect to the inputs and
  the trainable weights agrees with central finite differences in float64
  (`torch.autograd.gradcheck` along random directions, then a few single coordinates).
- kernels: outputs and gradients are identical with the compiled CPU kernels on and off.
- channels_last: outputs and gradients agree when the inputs are views of channels-first memory
  and 4-D weights are in `torch.channels_last` memory (inputs of rank 3 or more).
- train: one `train_on_batch` with SGD and mean squared error on random targets changes every
  trainable weight and leaves it finite.

Everything except the training step runs in inference mode, so Dropout and BatchNormalization
are deterministic there. A failed check raises `LayerTestFailure`, an AssertionError (test
runners show it as a failed test) naming the layer and the check.

The package's modules: `subject` builds the layer inside its one-layer model with its data;
`checks` holds shape, params, config, save and train; `gradients` and `memory_paths` (kernels,
channels_last) the rest. This module runs them in order and tallies the result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from typing import Any

import torch

from convscope.layers import Layer
from convscope.layers.input_spec import Shape
from convscope.testing.checks import (
    check_config,
    check_params,
    check_save,
    check_shape,
    check_training_step,
)
from convscope.testing.gradients import check_gradients
from convscope.testing.memory_paths import check_channels_last, check_kernels
from convscope.testing.subject import LayerTestFailure, Subject, build_subject

CHECKS = ("shape", "params", "config", "save", "gradients", "kernels", "channels_last", "train")

__all__ = ["CHECKS", "LayerTestFailure", "LayerTestResult", "run_layer_test"]


@dataclasses.dataclass(frozen=True)
class LayerTestResult:
    """What `run_layer_test` checked: `checks` passed, `skipped` maps a check to the reason."""

    layer: str
    input_shape: Shape | list[Shape]
    output_shape: Shape
    params: int
    checks: tuple[str, ...]
    skipped: dict[str, str]

    def __str__(self) -> str:
        skipped = "".join(f"; {check} skipped: {why}" for check, why in self.skipped.items())
        return f"{self.layer} {self.input_shape} -> {self.output_shape}, {self.params:,} params: " \
               f"{', '.join(self.checks)}{skipped}"


def run_layer_test(layer_cls: type[Layer], kwargs: dict[str, Any] | None,
                   input_shape: Sequence[int | None] | list[Sequence[int | None]], *,
                   expected_output_shape: Sequence[int | None] | None = None, expected_params: int | None = None,
                   batch_size: int = 4, skip: Collection[str] = (), seed: int = 0) -> LayerTestResult:
    """Build `layer_cls(**kwargs)` on inputs of `input_shape` and run every check in `CHECKS`.

    Args:
        layer_cls: a `convscope.layers.Layer` subclass.
        kwargs: its constructor's arguments.
        input_shape: the model input's shape, batch axis first, e.g. (None, 13, 13, 32); a None
            batch runs `batch_size` samples, another None axis runs 5. A list of shapes for a
            layer called on a list of tensors, e.g. [(None, 8, 8, 16), (None, 8, 8, 16)] for Add.
        expected_output_shape: the output shape `input_shape` should give, batch axis first.
        expected_params: the weight count the layer should have (`count_params()`).
        skip: names from `CHECKS` not to run.
        seed: seeds the weights and the data; the caller's random state is left as it was.

    Returns:
        A `LayerTestResult` naming the checks run and those skipped, with why.

    Raises:
        LayerTestFailure: the first check that fails, naming the layer and the check.
        ValueError: an unknown name in `skip`.

    Example:
        >>> from convscope import layers
        >>> run_layer_test(layers.Dense, {"units": 3}, (None, 5), expected_params=18).checks[:2]
        ('shape', 'params')
    """
    unknown = sorted(set(skip) - set(CHECKS))
    if unknown:
        raise ValueError(f"run_layer_test: unknown check(s) {', '.join(unknown)} in skip; the checks are "
                         f"{', '.join(CHECKS)}.")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        shape = [tuple(one) for one in input_shape] if isinstance(input_shape, list) else tuple(input_shape)
        subject = build_subject(layer_cls, dict(kwargs or {}), shape, batch_size, seed)  # type: ignore[arg-type]
        skipped = {check: "skipped by the caller" for check in CHECKS if check in skip}
        steps: dict[str, Callable[[Subject], str | None]] = {
            "shape": lambda s: check_shape(s, expected_output_shape),
            "params": lambda s: check_params(s, expected_params),
            "config": check_config, "save": check_save, "gradients": check_gradients,
            "kernels": check_kernels, "channels_last": check_channels_last, "train": check_training_step,
        }
        for check, step in steps.items():
            if check not in skipped:
                reason = run_check(subject, check, step)
                if reason is not None:
                    skipped[check] = reason
    assert subject.layer.output_shape is not None  # set by build
    return LayerTestResult(subject.name, subject.input_shape, subject.layer.output_shape,
                           subject.layer.count_params(), tuple(c for c in CHECKS if c not in skipped), skipped)


def run_check(subject: Subject, check: str, step: Callable[[Subject], str | None]) -> str | None:
    """Run one check; an exception other than its own failure is reported as that check's."""
    try:
        return step(subject)
    except LayerTestFailure:
        raise
    except Exception as error:
        raise subject.failure(check, f"{type(error).__name__}: {error}") from error
