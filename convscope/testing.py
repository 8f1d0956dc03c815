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
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import tempfile
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.autograd.gradcheck import GradcheckError, gradcheck

from convscope import optimizers
from convscope.layers import Input, InputLayer, Layer
from convscope.layers.input_spec import Shape
from convscope.models import Functional, Model, Sequential, load_model
from convscope.ops import cpu_kernels

CHECKS = ("shape", "params", "config", "save", "gradients", "kernels", "channels_last", "train")
UNKNOWN_SIZE = 5  # the size given to a non-batch axis declared None


class LayerTestFailure(AssertionError):
    """A check of `run_layer_test` failed; `layer` and `check` say which."""

    def __init__(self, layer: str, check: str, message: str) -> None:
        super().__init__(f"run_layer_test({layer}) {check}: {message}")
        self.layer, self.check = layer, check


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


@dataclasses.dataclass
class Subject:
    """The layer under test, its one-layer model and the data it runs on."""

    layer_cls: type[Layer]
    input_shape: Shape | list[Shape]  # batch axis first, None allowed; a list for a list of inputs
    layer: Layer
    model: Model
    inputs: list[torch.Tensor]  # float32, every axis known; one unless the layer takes a list
    generator: torch.Generator

    @property
    def name(self) -> str:
        return self.layer_cls.__name__

    @property
    def takes_list(self) -> bool:
        return isinstance(self.input_shape, list)

    def call(self, layer: Layer, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return layer(list(inputs) if self.takes_list else inputs[0])

    def shapes(self, inputs: Sequence[torch.Tensor]) -> Any:
        """The shapes of `inputs` as `compute_output_shape` takes them: a list for a list."""
        shapes = [tuple(x.shape) for x in inputs]
        return shapes if self.takes_list else shapes[0]

    def arrays(self) -> np.ndarray | list[np.ndarray]:
        arrays = [x.numpy() for x in self.inputs]
        return arrays if self.takes_list else arrays[0]

    def infer(self, layer: Layer, inputs: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """The layer's output in inference mode, without a graph."""
        layer.eval()
        with torch.no_grad():
            return self.call(layer, self.inputs if inputs is None else inputs)

    def failure(self, check: str, message: str) -> LayerTestFailure:
        return LayerTestFailure(self.name, check, message)

    def random(self, shape: Sequence[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.randn(tuple(shape), generator=self.generator, dtype=dtype)


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


def build_subject(layer_cls: type[Layer], kwargs: dict[str, Any], input_shape: Shape | list[Shape],
                  batch_size: int, seed: int) -> Subject:
    """The layer built inside a one-layer model, and its data."""
    try:
        layer = layer_cls(**kwargs)
        model = one_layer_model(layer, input_shape)
    except Exception as error:
        raise LayerTestFailure(layer_cls.__name__, "build", f"building it on input shape {input_shape} "
                               f"raised {type(error).__name__}: {error}") from error
    generator = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(concrete_shape(shape, batch_size), generator=generator)
              for shape in (input_shape if isinstance(input_shape, list) else [input_shape])]
    return Subject(layer_cls, input_shape, layer, model, inputs, generator)


def concrete_shape(shape: Shape, batch_size: int) -> tuple[int, ...]:
    return tuple(batch_size if i == 0 and size is None else UNKNOWN_SIZE if size is None else size
                 for i, size in enumerate(shape))


def one_layer_model(layer: Layer, input_shape: Shape | list[Shape]) -> Model:
    """`layer` built inside the smallest model that holds it: a Sequential after an Input, an
    InputLayer alone, or a functional Model over one Input per shape for a list of inputs."""
    if isinstance(input_shape, list):
        inputs = [Input(batch_shape=shape) for shape in input_shape]
        return Functional(inputs, layer(inputs))
    if isinstance(layer, InputLayer):  # Sequential takes an InputLayer as its input, not as a layer
        layer.build(input_shape)
        return Sequential([layer])
    return Sequential([Input(tuple(input_shape[1:]), batch_size=input_shape[0]), layer])


def describe_difference(first: torch.Tensor | np.ndarray, second: torch.Tensor | np.ndarray) -> str:
    a, b = torch.as_tensor(first).double(), torch.as_tensor(second).double()
    if a.shape != b.shape:
        return f"shapes {tuple(a.shape)} and {tuple(b.shape)}"
    return f"largest difference {(a - b).abs().max().item():.3g}" if a.numel() else "empty"


def json_round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value))


# -- shape, params, config, save ----------------------------------------------------------------

def check_shape(subject: Subject, expected: Sequence[int | None] | None) -> None:
    layer = subject.layer
    symbolic = tuple(layer.compute_output_shape(subject.input_shape))  # type: ignore[arg-type]  # a list for merges
    if layer.output_shape != symbolic:
        raise subject.failure("shape", f"built output_shape {layer.output_shape} differs from "
                              f"compute_output_shape({subject.input_shape}) = {symbolic}")
    if expected is not None and symbolic != tuple(expected):
        raise subject.failure("shape", f"output shape {symbolic} on input {subject.input_shape}; expected "
                              f"{tuple(expected)}")
    wanted = tuple(layer.compute_output_shape(subject.shapes(subject.inputs)))
    if layer.output_shape != symbolic:
        raise subject.failure("shape", "compute_output_shape changed the layer's output_shape; it must be pure")
    outputs = subject.infer(layer)
    if tuple(outputs.shape) != wanted or outputs.dtype != torch.float32:
        raise subject.failure("shape", f"float32 input {subject.shapes(subject.inputs)} gave {tuple(outputs.shape)} "
                              f"{outputs.dtype}; compute_output_shape says {wanted} float32")


def check_params(subject: Subject, expected: int | None) -> None:
    layer = subject.layer
    held = sum(tensor.numel() for tensor in layer.state_dict().values())
    needing_gradient = sum(parameter.numel() for parameter in layer.parameters() if parameter.requires_grad)
    trainable, _ = layer.param_counts()
    if layer.count_params() != held:
        raise subject.failure("params", f"count_params() is {layer.count_params():,} but its parameters and buffers "
                              f"hold {held:,} numbers; list every weight in keras_weights()")
    if trainable != needing_gradient:
        raise subject.failure("params", f"{trainable:,} trainable params counted but {needing_gradient:,} "
                              "parameters need a gradient")
    if expected is not None and layer.count_params() != expected:
        raise subject.failure("params", f"count_params() is {layer.count_params():,}; expected {expected:,}")


def check_config(subject: Subject) -> None:
    layer = subject.layer
    try:
        config = json_round_trip(layer.get_config())
    except TypeError as error:
        raise subject.failure("config", f"get_config() is not JSON: {error}") from error
    clone = subject.layer_cls.from_config(config)
    if json_round_trip(clone.get_config()) != config:
        raise subject.failure("config", f"from_config(get_config()) has config {clone.get_config()}; the layer's "
                              f"is {config}")
    one_layer_model(clone, subject.input_shape)
    if json_round_trip(clone.get_config()) != config:
        raise subject.failure("config", "building the layer changed its config")
    clone.set_weights(layer.get_weights())
    expected, got = subject.infer(layer), subject.infer(clone)
    if not torch.equal(expected, got):
        raise subject.failure("config", "from_config(get_config()) with the weights copied gives other outputs "
                              f"({describe_difference(expected, got)})")


def check_save(subject: Subject) -> None:
    model = subject.model
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model"
        model.save(path)
        loaded = load_model(path)
    if json_round_trip(loaded.get_config()) != json_round_trip(model.get_config()):
        raise subject.failure("save", f"load_model(model.save(...)) has config {loaded.get_config()}; saved "
                              f"{model.get_config()}")
    if isinstance(subject.layer, InputLayer):
        return  # a model of an InputLayer alone computes nothing to compare
    expected, got = model.predict(subject.arrays()), loaded.predict(subject.arrays())
    if not np.array_equal(expected, got):
        raise subject.failure("save", f"the loaded model predicts otherwise ({describe_difference(expected, got)})")


# -- gradients --------------------------------------------------------------------------------

ScalarFunction = Callable[..., torch.Tensor]


def scalar_function(subject: Subject, layer: Layer, names: list[str], direction: torch.Tensor) -> ScalarFunction:
    """f(*inputs, *weights) = sum(layer(inputs) * direction), the weights given by parameter name."""
    count = len(subject.inputs)

    def scalar(*arguments: torch.Tensor) -> torch.Tensor:
        inputs, weights = arguments[:count], arguments[count:]
        argument = list(inputs) if subject.takes_list else inputs[0]
        outputs = torch.func.functional_call(layer, dict(zip(names, weights)), (argument,))
        return (outputs * direction).sum()
    return scalar


def trainable_parameters(layer: Layer) -> tuple[list[str], list[torch.Tensor]]:
    named = [(name, parameter) for name, parameter in layer.named_parameters() if parameter.requires_grad]
    return [name for name, _ in named], [parameter.detach() for _, parameter in named]


def input_names(subject: Subject) -> list[str]:
    return [f"input {index}" for index in range(len(subject.inputs))] if subject.takes_list else ["input"]


def check_gradients(subject: Subject) -> str | None:
    layer = copy.deepcopy(subject.layer).double().eval()
    inputs = [x.double() for x in subject.inputs]
    try:
        outputs = subject.infer(layer, inputs)
    except (RuntimeError, TypeError) as error:  # no float64 support: float32 with coarser steps
        coarse_gradient_check(subject, error)
        return None
    names, weights = trainable_parameters(layer)
    scalar = scalar_function(subject, layer, names, subject.random(outputs.shape, torch.float64))
    arguments = tuple(t.clone(memory_format=torch.contiguous_format).requires_grad_() for t in (*inputs, *weights))
    try:
        gradcheck(scalar, arguments, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)
    except GradcheckError as error:
        raise subject.failure("gradients", f"float64 gradcheck along random directions: {error}") from error
    problems = coordinate_mismatches(scalar, arguments, [*input_names(subject), *names], subject.generator,
                                     eps=1e-6, rtol=1e-5, atol=1e-8)
    if problems:
        raise subject.failure("gradients", "float64 central differences disagree with autograd: "
                              + "; ".join(problems))
    return None


def coarse_gradient_check(subject: Subject, reason: Exception) -> None:
    layer = copy.deepcopy(subject.layer).eval()
    names, weights = trainable_parameters(layer)
    scalar = scalar_function(subject, layer, names, subject.random(subject.infer(layer).shape))
    arguments = tuple(t.clone(memory_format=torch.contiguous_format).requires_grad_()
                      for t in (*subject.inputs, *weights))
    problems = coordinate_mismatches(scalar, arguments, [*input_names(subject), *names], subject.generator,
                                     eps=1e-2, rtol=5e-2, atol=1e-3)
    if problems:
        raise subject.failure("gradients", f"float32 central differences (float64 failed: {reason}) disagree with "
                              "autograd: " + "; ".join(problems))


def coordinate_mismatches(scalar: ScalarFunction, arguments: tuple[torch.Tensor, ...], names: list[str],
                          generator: torch.Generator, *, eps: float, rtol: float, atol: float,
                          per_tensor: int = 3) -> list[str]:
    """Where (f(t + eps) - f(t - eps)) / 2 eps at a few random coordinates of each argument
    disagrees with autograd's gradient."""
    analytic = torch.autograd.grad(scalar(*arguments), arguments, allow_unused=True)
    values = [argument.detach().clone() for argument in arguments]
    problems = []
    with torch.no_grad():
        for index, (value, gradient) in enumerate(zip(values, analytic)):
            flat = value.view(-1)
            for position in torch.randint(flat.numel(), (per_tensor,), generator=generator).tolist():
                original = flat[position].item()
                flat[position] = original + eps
                above = scalar(*values).item()
                flat[position] = original - eps
                below = scalar(*values).item()
                flat[position] = original
                numeric = (above - below) / (2 * eps)
                exact = 0.0 if gradient is None else gradient.reshape(-1)[position].item()
                if not abs(numeric - exact) <= atol + rtol * max(abs(numeric), abs(exact)):
                    problems.append(f"{names[index]}[{position}]: autograd {exact:.6g}, numeric {numeric:.6g}")
    return problems


# -- paths: compiled kernels, memory layout --------------------------------------------------------

def outputs_and_gradients(subject: Subject, layer: Layer, inputs: list[torch.Tensor],
                          direction: torch.Tensor) -> list[torch.Tensor]:
    """[inference output, training-graph output, gradient of sum(output * direction) with
    respect to each input and each trainable weight]."""
    names, _ = trainable_parameters(layer)
    weights = [parameter for name, parameter in layer.named_parameters() if name in names]
    leaves = [x.detach().clone(memory_format=torch.preserve_format).requires_grad_() for x in inputs]
    plain = subject.infer(layer, inputs)
    outputs = subject.call(layer, leaves)
    gradients = torch.autograd.grad((outputs * direction).sum(), [*leaves, *weights], allow_unused=True)
    return [plain, outputs.detach(), *(torch.zeros(0) if g is None else g for g in gradients)]


def labels_for(subject: Subject, layer: Layer) -> list[str]:
    names, _ = trainable_parameters(layer)
    return ["inference output", "output", *(f"{name} gradient" for name in (*input_names(subject), *names))]


def check_kernels(subject: Subject) -> str | None:
    if not cpu_kernels.available():
        return "the compiled CPU kernels are not built here"
    layer = copy.deepcopy(subject.layer).eval()
    direction = subject.random(subject.infer(layer).shape)
    with cpu_kernels.enabled(True):
        on = outputs_and_gradients(subject, layer, subject.inputs, direction)
    with cpu_kernels.enabled(False):
        off = outputs_and_gradients(subject, layer, subject.inputs, direction)
    for label, first, second in zip(labels_for(subject, layer), on, off):
        if not torch.equal(first, second):
            raise subject.failure("kernels", f"the {label} differs with the compiled CPU kernels on and off "
                                  f"({describe_difference(first, second)})")
    return None


def channels_last_weights(layer: Layer) -> Layer:
    """A copy of `layer` whose 4-D parameters are in `torch.channels_last` memory."""
    moved = copy.deepcopy(layer).eval()
    for parameter in moved.parameters():
        if parameter.dim() == 4:
            parameter.data = parameter.data.contiguous(memory_format=torch.channels_last)
    return moved


def channels_first_memory(x: torch.Tensor) -> torch.Tensor:
    """The same values as `x`, stored channels first: a channels-last view with other strides."""
    return x.movedim(-1, 1).contiguous().movedim(1, -1) if x.dim() >= 3 else x


def check_channels_last(subject: Subject) -> str | None:
    if all(x.dim() < 3 for x in subject.inputs):
        return "the input has no channel axis to lay out"
    layer = copy.deepcopy(subject.layer).eval()
    direction = subject.random(subject.infer(layer).shape)
    plain = outputs_and_gradients(subject, layer, subject.inputs, direction)
    other = outputs_and_gradients(subject, channels_last_weights(layer),
                                  [channels_first_memory(x) for x in subject.inputs], direction)
    for label, first, second in zip(labels_for(subject, layer), plain, other):
        scale = max(first.abs().max().item(), 1.0) if first.numel() else 1.0
        if first.shape != second.shape or not torch.allclose(first, second, rtol=1e-5, atol=1e-5 * scale):
            raise subject.failure("channels_last", f"the {label} differs between contiguous and channels-last "
                                  f"memory ({describe_difference(first, second)})")
    return None


# -- one training step ----------------------------------------------------------------------------

def check_training_step(subject: Subject) -> str | None:
    model, layer = subject.model, subject.layer
    if isinstance(layer, InputLayer):
        return "an InputLayer has nothing to train"
    slots = [(name, tensor) for name, tensor, _ in layer.keras_weights()
             if isinstance(tensor, torch.nn.Parameter) and tensor.requires_grad]
    if not slots:
        return "no trainable weights"
    before = [tensor.detach().cpu().clone() for _, tensor in slots]
    output_shape = layer.compute_output_shape(subject.shapes(subject.inputs))
    targets = subject.random([size for size in output_shape if size is not None]).numpy()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.01), loss="mse", precision="float32", device="cpu")
    loss = model.train_on_batch(subject.arrays(), targets)
    if not math.isfinite(float(loss)):
        raise subject.failure("train", f"one SGD step on mean squared error gave the loss {loss}")
    for (name, tensor), old in zip(slots, before):
        new = tensor.detach().cpu()
        if not torch.isfinite(new).all():
            raise subject.failure("train", f"weight '{name}' is not finite after one SGD step")
        if torch.equal(new, old):
            raise subject.failure("train", f"weight '{name}' did not change in one SGD step (no gradient reached it)")
    return None
