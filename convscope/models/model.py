"""Model: what every convscope model does, whatever connects its layers.

A model is a `torch.nn.Module` made of convscope layers. This base class holds Keras's model
API that does not depend on how the layers are connected: compile, fit, evaluate, predict and
the *_on_batch calls (delegated to `convscope.engine`, which trains anything meeting
`engine.protocol.TrainableModel`), weights, saving and loading, JSON, summary, device and
learning rate. A subclass fixes the graph: `Sequential` chains its layers; it provides
`layers`, `output_shape`, `build`, `forward`, `output_activation_name`, `get_config` and
`from_checked_config`, and registers itself in `models.registry` so saved models find it.

`export` hands the model to `convscope.export`, a higher floor (imported when called).
"""

from __future__ import annotations

import abc
import itertools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, cast

import numpy as np
import torch
from torch import nn

from convscope import activations, optimizer_base, optimizers
from convscope.engine import outputs as output_heads
from convscope.engine.compiled import Compiled, check_threads
from convscope.layers import Layer, Softmax, input_spec
from convscope.layers.input_spec import Shape
from convscope.models import config as config_checks
from convscope.models.precision import float32_kernel_share
from convscope.ops import device as device_policy

if TYPE_CHECKING:
    from convscope.engine.checkpoint import ResumePoint


def keras_results(compiled: Compiled, logs: dict[str, float], return_dict: bool) -> Any:
    """What Keras's evaluate-like calls return: the dict, the loss alone, or [loss, *metrics]
    in Keras's order (`Compiled.results_list`)."""
    if return_dict:
        return logs
    values = compiled.results_list(logs)
    return values[0] if len(values) == 1 else values


def final_activation_name(layer: Layer) -> str | None:
    """The activation `layer` ends with ("softmax", "sigmoid", ...) when a loss may take the
    output before it (`Layer.forward_logits`); None otherwise."""
    if isinstance(layer, Model):  # a model used as a layer ends as its own output does
        return layer.output_activation_name()
    if layer.activity_regularizer is not None:  # its penalty is computed on the activated output
        return None
    if isinstance(layer, Softmax):
        return "softmax" if layer.axis == -1 else None
    function = getattr(layer, "activation", None)
    if function is None:
        return None
    try:
        return activations.name_of(function)
    except ValueError:
        return None


class Model(nn.Module, abc.ABC):
    """The base of convscope's models; see the module text. Build one with `Sequential`."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """`Model(inputs, outputs)` makes a functional model, as `keras.Model(inputs, outputs)` does."""
        if cls is Model:
            from convscope.models import registry

            return super().__new__(cast("type[Model]", registry.get("Functional")))
        return super().__new__(cls)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.input_shape: Shape | None = None
        self.compiled: Compiled | None = None
        self.history: Any = None
        self.stop_training = False
        self.nonfinite_loss = False
        self._device = torch.device("cpu")

    # -- what a subclass defines ---------------------------------------------------------
    @property
    @abc.abstractmethod
    def layers(self) -> list[Layer]:
        """Every layer, in the order their weights are listed and saved."""

    @property
    @abc.abstractmethod
    def output_shape(self) -> Shape | None:
        """The output shape with its batch axis, e.g. (None, 10); None while the input is unknown."""

    @abc.abstractmethod
    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Build every layer for `input_shape` (batch axis included, e.g. (None, 28, 28, 1))."""

    @abc.abstractmethod
    def forward(self, inputs: torch.Tensor, logits: bool = False) -> torch.Tensor:
        """Outputs for a channels-last batch; `logits=True` stops before the final softmax/sigmoid."""

    @abc.abstractmethod
    def output_activation_name(self) -> str | None:
        """The activation the output ends with, when it can be split off."""

    @abc.abstractmethod
    def get_config(self) -> dict[str, Any]:
        """The architecture as JSON-ready data; `from_config` rebuilds it."""

    @classmethod
    @abc.abstractmethod
    def from_checked_config(cls, config: dict[str, Any]) -> Self:
        """A new model from a config `check_config` has accepted."""

    @classmethod
    def check_config(cls, config: Any, stored: config_checks.StoredShapes | None = None) -> None:
        """Check a config of this class before anything is allocated (with `stored`, against
        the weights file's shapes too): a list of layers, `models.config.preflight`. A class
        whose config is another shape (a graph) overrides it.

        Raises:
            ValueError: for a config that is malformed, asks for too much or does not fit `stored`.
        """
        config_checks.preflight(config, stored)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Rebuild an (untrained) model from `get_config()` output, checking the config first.

        Raises:
            ValueError: for a config `check_config` refuses.
        """
        cls.check_config(config)
        return cls.from_checked_config(config)

    # -- structure ------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return self.input_shape is not None

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called `name`, or at position `index` (Keras's `model.get_layer`).

        Raises:
            ValueError: when both or neither are given, or no layer matches.
        """
        if (name is None) == (index is None):
            raise ValueError(f"get_layer: give a layer name or an index, not both or neither; got name={name!r}, "
                             f"index={index!r}.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range; the model has {len(layers)} layers.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no layer named {name!r}; the layers are {[layer.name for layer in layers]}.")

    def data_keys(self) -> tuple[list[str], list[str]]:
        """The names that key x and y dicts: (input names, output names), one per input and
        output; the input layer's name and the last layer's name for a chain of layers."""
        layers = self.layers
        return ["input_layer"], [layers[-1].name if layers else self.name]

    def fusion_stacks(self) -> list[Sequence[Layer]]:
        """The stacks of layers this model runs through `convscope.models.fusion` (none here; a
        Sequential's layers, a functional graph's layer + pooling pairs)."""
        return []

    def output_activation_names(self) -> list[str | None]:
        """Each output's final activation when it can be split off (see `output_activation_name`)."""
        return [self.output_activation_name()]

    def require_output_shapes(self, action: str) -> list[Shape]:
        """Every output's shape (batch axis included), in `data_keys()` order."""
        return [self.require_output_shape(action)]

    def check_input_shape(self, shape: tuple[int, ...], argument: str = "x", index: int = 0) -> None:
        """Check a batch shape against the model's input shape, building an unbuilt model for it.

        Raises:
            ValueError: naming `argument`, the shape expected and a likely fix.
        """
        assert index == 0, "a chain of layers has one input"
        expected = self.input_shape
        if expected is None:
            expected = (None, *shape[1:])
            self.build(expected)
        layers = self.layers
        first = layers[0].label if layers else "the model"
        if len(shape) != len(expected):
            input_spec.check_rank(first, len(expected), tuple(shape), expected=tuple(expected))
        for want, have in zip(expected[1:], shape[1:]):
            if want is not None and want != have:
                raise ValueError(f"{argument} has shape {tuple(shape)} but the model expects {tuple(expected)}. "
                                 f"{input_spec.channel_hint(expected, (None, *shape[1:]))}")

    @property
    def losses(self) -> list[torch.Tensor]:
        """The regularization penalties, one scalar per layer that has any (Keras's `model.losses`);
        activity penalties are those of the last forward pass."""
        return [penalty for penalty in (layer.regularization_penalty() for layer in self.layers) if penalty is not None]

    def regularization_penalty(self) -> torch.Tensor | None:
        terms = self.losses
        return sum(terms[1:], terms[0]) if terms else None

    # -- device ---------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self._device

    def to_device(self, device: str | torch.device | None) -> Self:
        """Move to `device`; 4-D and 5-D kernels take the channels_last (channels_last_3d) memory
        format, which matches the channels-last activations, so oneDNN/cuDNN convolve without
        reordering."""
        self._device = device_policy.resolve_device(device)
        self.to(self._device)
        # Module.to(memory_format=...) would give one format to 4-D and 5-D tensors alike.
        formats = {4: torch.channels_last, 5: torch.channels_last_3d}
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            if tensor.dim() in formats:
                tensor.data = tensor.data.to(memory_format=formats[tensor.dim()])  # canonical strides, C=1 too
        return self

    # -- compile --------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None,
                precision: str = "auto", device: str | torch.device | None = None,
                threads: int | str | None = None, *, loss_weights: Any = None,
                weighted_metrics: Any = None) -> None:
        """Choose optimizer, loss, metrics, precision ("auto", "float32", "bfloat16"), device and
        CPU threads.

        For a model with several outputs, `loss` is one loss (for every output), a list in
        output order or a dict keyed by output name; `loss_weights` (a list or dict) weight each
        output's loss in the total, and `metrics` is a list with one entry per output, a dict, or
        a flat list applied to every output (see `convscope.engine.outputs`). `weighted_metrics`
        count each sample by its sample_weight (class_weight); `metrics` do not, as in Keras.

        precision="auto" trains with bfloat16 autocast only where the hardware supports it natively
        and the model gains from it (not where most of its work runs in the float32 Winograd
        kernel on a CPU without AMX: see `convscope.ops.device`); weights always stay float32. threads=None or "auto" lets
        `fit` choose the thread count while it runs (fewer while other processes compete for the
        cores); an integer fixes it.

        >>> model.compile("adam", loss={"class_out": "sparse_categorical_crossentropy", "box": "mse"},
        ...               loss_weights={"class_out": 1.0, "box": 0.5}, metrics={"class_out": ["accuracy"]})
        """
        if loss is None:
            raise ValueError("compile: loss is required, e.g. loss='sparse_categorical_crossentropy' for integer "
                             "labels or 'categorical_crossentropy' for one-hot labels.")
        self.require_built("compile")
        self.to_device(device)
        heads = output_heads.output_heads(loss, loss_weights, metrics, weighted_metrics, self.data_keys()[1],
                                          self.output_activation_names())
        recipe = optimizers.get(optimizer)
        keras_orders = {id(tensor): tuple(order) for layer in self.layers for _, tensor, order in layer.keras_weights()}
        torch_optimizer = recipe if isinstance(recipe, torch.optim.Optimizer) else \
            recipe.build(self.parameters(), keras_orders)
        keras_optimizer = optimizer_base.TorchOptimizer(recipe) if isinstance(recipe, torch.optim.Optimizer) else recipe
        self.compiled = Compiled(
            optimizer_recipe=None if isinstance(recipe, torch.optim.Optimizer) else recipe,
            optimizer=torch_optimizer, keras_optimizer=keras_optimizer, heads=heads,
            precision=precision,
            autocast_dtype=device_policy.resolve_precision(precision, self._device, float32_kernel_share(self)),
            constrained_layers=[layer for layer in self.layers if any(
                getattr(layer, f"{name}_constraint", None) is not None for name, _, _ in layer.keras_weights())],
            settings=output_heads.settings(heads, loss_weights),
            threads=check_threads(threads),
        )

    def require_compiled(self, action: str) -> Compiled:
        if self.compiled is None:
            raise ValueError(f"{action}: the model is not compiled. Call model.compile(optimizer='adam', "
                             "loss='sparse_categorical_crossentropy', metrics=['accuracy']) first.")
        return self.compiled

    def require_built(self, action: str) -> Shape:
        """The input shape (batch axis included); a ValueError naming `action` while it is unknown."""
        if self.input_shape is None:
            raise ValueError(f"{action}: the model's input shape is unknown. Give the first layer "
                             "input_shape=(28, 28, 1) (for example), start with layers.Input((28, 28, 1)), "
                             "or call model.build((None, 28, 28, 1)).")
        return self.input_shape

    def require_output_shape(self, action: str) -> Shape:
        """The output shape (batch axis included), e.g. (None, 10); a ValueError naming `action`
        while the input shape is unknown."""
        self.require_built(action)
        shape = self.output_shape
        assert shape is not None  # every layer of a built model is built
        return shape

    def output_units(self, action: str) -> int:
        """The size of the output's last axis: a classifier's class count, e.g. 10.

        Raises:
            ValueError: naming `action`, while the model is not built or that size is unknown.
        """
        shape = self.require_output_shape(action)
        if shape[-1] is None:
            raise ValueError(f"{action}: the model's output shape {shape} leaves the last axis unknown; end "
                             "the model with a layer of fixed width, e.g. Dense(10).")
        return int(shape[-1])

    @property
    def optimizer(self) -> optimizers.Optimizer | None:
        """The compiled optimizer, Keras-style (None before compile): its `learning_rate` reads
        and sets the rate the torch optimizer uses.

        >>> model.optimizer.learning_rate = 0.01  # or keras.backend.set_value(model.optimizer.learning_rate, 0.01)
        """
        return None if self.compiled is None else self.compiled.keras_optimizer

    @property
    def learning_rate(self) -> float:
        """The rate of the next update (with a schedule, schedule(optimizer.iterations))."""
        return self.require_compiled("learning_rate").keras_optimizer.current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        compiled = self.require_compiled("learning_rate")
        if compiled.keras_optimizer.schedule is not None or callable(value):  # a schedule: Keras's rules
            compiled.keras_optimizer.set_learning_rate(value)
            return
        for group in compiled.optimizer.param_groups:
            group["lr"] = float(value)

    # -- training and inference -----------------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", callbacks: list[Any] | None = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: bool = True, class_weight: dict[int, float] | None = None,
            sample_weight: Any = None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None, *,
            resume: ResumePoint | None = None) -> Any:
        """Train for `epochs` epochs; returns a History (`history.history["loss"]`, ...).

        `x` is an array (with labels `y`), a `keras.utils.PyDataset`, or a generator of
        (x_batch, y_batch) or (x_batch, y_batch, sample_weight) read for `steps_per_epoch`
        batches per epoch (or until it runs out). A model with several inputs takes `x` as a list
        in input order or a dict keyed by input name; with several outputs, `y` likewise.
        `sample_weight` (N,) multiplies each sample's loss (the batch loss is sum(w * loss) / N,
        as in Keras); `class_weight` {class: weight} weighs samples by their label (one output).
        `validation_data` may carry weights too: (x_val, y_val, val_sample_weight).
        `resume`, the point `convscope.engine.checkpoint.restore_latest` returns, continues a
        checkpoint that stopped mid-epoch at its step (pass `initial_epoch=resume.epoch`).
        """
        from convscope.engine import loop

        return loop.fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                        validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
                        class_weight=class_weight, sample_weight=sample_weight, initial_epoch=initial_epoch,
                        steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
                        validation_batch_size=validation_batch_size, resume=resume)

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: int | str = "auto",
                 sample_weight: Any = None, steps: int | None = None, return_dict: bool = False) -> Any:
        """Loss (and metrics) on `x`, `y`: a float, or [loss, *metrics] as Keras returns (for
        several outputs: loss, each output's loss, then the metrics by name)."""
        from convscope.engine import loop

        return loop.evaluate(self, x, y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight,
                             steps=steps, return_dict=return_dict)

    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = 0,
                steps: int | None = None) -> Any:
        """Model outputs for `x` (channels-last), computed in batches without gradients: an
        array (a list of arrays for several outputs)."""
        from convscope.engine import loop

        return loop.predict(self, x, batch_size=batch_size, steps=steps)

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None,
                       return_dict: bool = False) -> Any:
        """One optimizer step on the whole of `x`, `y` (weighted by `sample_weight` or
        `class_weight`, as `fit` takes them); the loss (and metrics) of that batch as `evaluate`
        returns them.

        >>> loss, accuracy = model.train_on_batch(x[:32], y[:32])
        """
        from convscope.engine import arrays, loop, objective

        compiled = self.require_compiled("train_on_batch")
        x_data, y_data, weights = arrays.prepare_xy(self, compiled, x, y, sample_weight=sample_weight,
                                                    class_weight=class_weight)
        totals = objective.new_totals(compiled)
        self.train()
        try:
            totals.add(loop.train_step(self, compiled, x_data, y_data, sample_weight=weights),
                       arrays.sample_count(x_data))
        finally:
            self.eval()
        return keras_results(compiled, totals.result(), return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """Loss (and metrics) on the whole of `x`, `y` as one batch, as `evaluate` returns them."""
        from convscope.engine import arrays

        samples = arrays.samples_in(self, x)
        return self.evaluate(x, y, batch_size=max(samples, 1), verbose=0, sample_weight=sample_weight,
                             return_dict=return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """Model outputs for `x` computed as one batch."""
        from convscope.engine import arrays

        return self.predict(x, batch_size=max(arrays.samples_in(self, x), 1))

    # -- weights ----------------------------------------------------------------------------
    @property
    def weights(self) -> list[torch.Tensor]:
        """Every weight tensor, layer by layer in Keras's order (in PyTorch's memory layout)."""
        return [tensor for layer in self.layers for _, tensor, _ in layer.keras_weights()]

    @property
    def trainable_weights(self) -> list[torch.Tensor]:
        """The weights the optimizer updates: parameters of trainable layers."""
        return [tensor for layer in self.layers if layer.trainable
                for _, tensor, _ in layer.keras_weights() if isinstance(tensor, nn.Parameter) and tensor.requires_grad]

    @property
    def non_trainable_weights(self) -> list[torch.Tensor]:
        """Frozen layers' weights and running statistics (BatchNormalization's moving mean/variance)."""
        trainable = {id(tensor) for tensor in self.trainable_weights}
        return [tensor for tensor in self.weights if id(tensor) not in trainable]

    def get_weights(self) -> list[np.ndarray]:
        return [weight for layer in self.layers for weight in layer.get_weights()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        layers = self.layers
        expected = sum(len(layer.keras_weights()) for layer in layers)
        if len(weights) != expected:
            raise ValueError(f"{type(self).__name__} '{self.name}'.set_weights expects {expected} arrays; got "
                             f"{len(weights)}.")
        position = 0
        for layer in layers:
            count = len(layer.keras_weights())
            layer.set_weights(list(weights[position:position + count]))
            position += count

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str], overwrite: bool = True, zipped: bool | None = None) -> None:
        """Save architecture (JSON), weights and optimizer state (safetensors) to a folder; a
        path ending .keras or .h5 writes Keras's file instead (keras.models.load_model opens it).
        `overwrite=False` refuses an existing path; `zipped=False` (Keras's unzipped .keras) is refused."""
        from convscope.models import storage

        storage.save_model(self, path, overwrite=overwrite, zipped=zipped)

    def save_weights(self, path: str | os.PathLike[str]) -> None:
        """Weights alone: Keras's layout for a .weights.h5 path, else a safetensors file."""
        from convscope.models import storage

        storage.save_weights(self, path)

    def load_weights(self, path: str | os.PathLike[str]) -> None:
        """Weights from `save_weights`'s file or a Keras .weights.h5 / .h5 file."""
        from convscope.models import storage

        storage.load_weights(self, path)

    def write_checkpoint_files(self, folder: Path) -> None:
        """A training checkpoint's model files: the saved-model folder's config, weights and
        optimizer state (`convscope.engine.checkpoint` adds where training stood)."""
        from convscope.models import storage

        storage.write_model_files(self, folder)

    def read_checkpoint_files(self, folder: Path) -> None:
        """Weights and (when saved) optimizer and generator states from a checkpoint folder."""
        from convscope.models import storage

        storage.load_weights(self, folder / storage.WEIGHTS_FILE)
        if (folder / storage.OPTIMIZER_FILE).exists():
            storage.load_optimizer(self, folder / storage.OPTIMIZER_FILE)

    def to_json(self, **dumps_options: Any) -> str:
        """The architecture as Keras's model JSON; `models.model_from_json` rebuilds it."""
        from convscope.models.keras_files import model_to_json

        return model_to_json(self, **dumps_options)

    def export(self, path: str | os.PathLike[str], format: str | None = None) -> Any:
        """Write an inference file: format "onnx" or "torchscript" (default: from the suffix).

        Input is channels-last with a dynamic batch axis; see `convscope.export`.
        """
        from convscope.export import export_model

        return export_model(self, path, format)

    # -- summary ----------------------------------------------------------------------------
    def summary(self, line_length: int | None = None, positions: Any = None,
                print_fn: Callable[[str], Any] | None = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range: Any = None, *, show_details: bool = False,
                show_macs: bool = False) -> None:
        """Print the layer table: name (type), output shape, parameter count, totals.

        Keras's arguments in Keras's order: `line_length` (the table's width; its columns
        widen or narrow with it) and `positions` (where each column ends, fractions of the line
        or, over 1, characters); `print_fn` takes the text (a rich table is printed on a
        terminal otherwise); `expand_nested` lists a nested model's layers under its row,
        marked "└ "; `show_trainable` adds a Trainable column (Y, N, - without weights);
        `layer_range` prints the layers from a first to a last name, both included (regular
        expressions matched from the start of each name, as in Keras). `show_details` adds
        kernel, stride and padding; `show_macs` multiply-accumulates per sample.

            model.summary(layer_range=["conv2d", "flatten"], show_trainable=True)

        Raises ValueError for a `layer_range` that names no layer or columns that cannot fit.
        """
        from convscope.models.summary import print_summary

        print_summary(self, print_fn=print_fn, show_details=show_details, show_macs=show_macs,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range,
                      line_length=line_length, positions=positions)

    def summary_data(self) -> dict[str, Any]:
        """The summary as plain data: rows and totals."""
        from convscope.models.summary import summary_data

        return summary_data(self)

    def _repr_html_(self) -> str:
        from convscope.models.summary import summary_html

        return summary_html(self)
