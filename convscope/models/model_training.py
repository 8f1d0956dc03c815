"""Keras's training front of a model: compile, fit, evaluate, predict, the *_on_batch calls and
the compiled optimizer's learning rate.

`Model` takes these methods from `KerasTraining`; they hand the model to `convscope.engine`,
which trains anything meeting `engine.protocol.TrainableModel`. `TrainingModel` names what they
use of the model besides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import torch

from convscope import optimizer_base, optimizers
from convscope.engine import outputs as output_heads
from convscope.engine.compiled import Compiled, check_threads
from convscope.engine.protocol import TrainableModel
from convscope.layers import Layer
from convscope.layers.input_spec import Shape
from convscope.models.precision import float32_kernel_share
from convscope.ops import device as device_policy

if TYPE_CHECKING:
    from convscope.engine.checkpoint import ResumePoint


def keras_results(compiled: Compiled, logs: dict[str, float], return_dict: bool) -> Any:
    """What Keras's evaluate-like calls return: the dict, the loss alone, or [loss, *metrics]
    in Keras's order (`Compiled.results_list`)."""
    if return_dict:
        return dict(sorted(logs.items()))  # Keras 3 returns the logs sorted by name
    values = compiled.results_list(logs)
    return values[0] if len(values) == 1 else values


class TrainingModel(TrainableModel, Protocol):
    """What `KerasTraining`'s methods use of the model beyond the engine's `TrainableModel`."""

    @property
    def layers(self) -> list[Layer]: ...

    def require_built(self, action: str) -> Shape: ...

    def to_device(self, device: str | torch.device | None) -> Any: ...

    def output_activation_names(self) -> list[str | None]: ...

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: int | str = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: list[Any] | None = None,
                 return_dict: bool = False) -> Any: ...

    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = 0,
                steps: int | None = None, callbacks: list[Any] | None = None) -> Any: ...


class KerasTraining:
    """compile, fit, evaluate, predict and the *_on_batch calls, as Keras's `Model` has them."""

    compiled: Compiled | None  # set by compile; the model's __init__ starts it at None

    def compile(self: TrainingModel, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None,
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
            autocast_dtype=device_policy.resolve_precision(precision, self.device, float32_kernel_share(self)),
            constrained_layers=[layer for layer in self.layers if any(
                getattr(layer, f"{name}_constraint", None) is not None for name, _, _ in layer.keras_weights())],
            settings=output_heads.settings(heads, loss_weights),
            threads=check_threads(threads),
            has_compile_metrics=metrics is not None or weighted_metrics is not None,
            loss_argument=loss,
        )

    def require_compiled(self: TrainingModel, action: str) -> Compiled:
        if self.compiled is None:
            raise ValueError(f"{action}: the model is not compiled. Call model.compile(optimizer='adam', "
                             "loss='sparse_categorical_crossentropy', metrics=['accuracy']) first.")
        return self.compiled

    @property
    def loss(self: TrainingModel) -> Any:
        """The loss given to compile, as given ("mse", a Loss, a list or dict); None before
        compile, as Keras's `model.loss`."""
        return None if self.compiled is None else self.compiled.loss_argument

    @property
    def metrics(self: TrainingModel) -> list[Any]:
        """The metric objects Keras lists, in its order: [] before compile; then a Mean named
        "loss", a CompileMetrics named "compile_metrics" (when compile got metrics; its
        `metrics` are the compiled metric objects) and, once a step has run on a model with
        several outputs with losses, a Mean per output loss ("class_out_loss"). Each holds the
        values the last fit epoch, evaluation or *_on_batch call logged (after a fit that
        validated, the validation's, as in Keras)."""
        return [] if self.compiled is None else self.compiled.keras_metrics()

    @property
    def metrics_names(self: TrainingModel) -> list[str]:
        """The names of `metrics`, as Keras 3 gives them: ["loss", "compile_metrics"] after
        compile with metrics (not each metric's name; those are the keys of
        `get_metrics_result()`).

        >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        >>> model.metrics_names
        ['loss', 'compile_metrics']
        """
        return [] if self.compiled is None else [metric.name for metric in self.compiled.keras_metrics()]

    def reset_metrics(self: TrainingModel) -> None:
        """Set every metric of `metrics` back to zero, as Keras's reset_metrics does (fit,
        evaluate and the *_on_batch calls start from zero anyway)."""
        for metric in [] if self.compiled is None else self.compiled.keras_metrics():
            metric.reset_state()

    def get_metrics_result(self: TrainingModel) -> dict[str, Any]:
        """The metrics' values as a dict, in Keras's order: "loss", the compiled metrics, then
        each output's loss, from the last fit epoch (or its validation), evaluation or
        *_on_batch call.

        Raises:
            ValueError: before any of those ran on a model compiled with metrics, as in Keras.
        """
        return {} if self.compiled is None else self.compiled.metrics_result()

    @property
    def optimizer(self: TrainingModel) -> optimizers.Optimizer | None:
        """The compiled optimizer, Keras-style (None before compile): its `learning_rate` reads
        and sets the rate the torch optimizer uses.

        >>> model.optimizer.learning_rate = 0.01  # or keras.backend.set_value(model.optimizer.learning_rate, 0.01)
        """
        return None if self.compiled is None else self.compiled.keras_optimizer

    @property
    def learning_rate(self: TrainingModel) -> float:
        """The rate of the next update (with a schedule, schedule(optimizer.iterations))."""
        return self.require_compiled("learning_rate").keras_optimizer.current_learning_rate()

    @learning_rate.setter
    def learning_rate(self: TrainingModel, value: float) -> None:
        compiled = self.require_compiled("learning_rate")
        if compiled.keras_optimizer.schedule is not None or callable(value):  # a schedule: Keras's rules
            compiled.keras_optimizer.set_learning_rate(value)
            return
        for group in compiled.optimizer.param_groups:
            group["lr"] = float(value)

    def fit(self: TrainingModel, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", callbacks: list[Any] | None = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: bool = True, class_weight: dict[int, float] | None = None,
            sample_weight: Any = None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int | list[int] = 1, *, resume: ResumePoint | None = None) -> Any:
        """Train for `epochs` epochs; returns a History (`history.history["loss"]`, ...).

        `x` is an array (with labels `y`), a `keras.utils.PyDataset`, or a generator of
        (x_batch, y_batch) or (x_batch, y_batch, sample_weight) read for `steps_per_epoch`
        batches per epoch (or until it runs out). A model with several inputs takes `x` as a list
        in input order or a dict keyed by input name; with several outputs, `y` likewise.
        `sample_weight` (N,) multiplies each sample's loss (the batch loss is sum(w * loss) / N,
        as in Keras); `class_weight` {class: weight} weighs samples by their label (one output).
        `validation_data` may carry weights too: (x_val, y_val, val_sample_weight);
        `validation_freq` N validates after every N-th epoch, a list [1, 5] after those epochs.
        `resume`, the point `convscope.engine.checkpoint.restore_latest` returns, continues a
        checkpoint that stopped mid-epoch at its step (pass `initial_epoch=resume.epoch`).
        """
        from convscope.engine import loop

        return loop.fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                        validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
                        class_weight=class_weight, sample_weight=sample_weight, initial_epoch=initial_epoch,
                        steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
                        validation_batch_size=validation_batch_size, validation_freq=validation_freq,
                        resume=resume)

    def evaluate(self: TrainingModel, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: int | str = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: list[Any] | None = None,
                 return_dict: bool = False) -> Any:
        """Loss (and metrics) on `x`, `y`: a float, or [loss, *metrics] as Keras returns (for
        several outputs: loss, each output's loss, then the metrics by name); with
        `return_dict`, a dict sorted by name, as Keras 3 returns it. `callbacks` hear
        on_test_begin, on_test_batch_begin/end and on_test_end."""
        from convscope.engine import loop

        return loop.evaluate(self, x, y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight,
                             steps=steps, callbacks=callbacks, return_dict=return_dict)

    def predict(self: TrainingModel, x: Any, batch_size: int | None = None, verbose: int | str = 0,
                steps: int | None = None, callbacks: list[Any] | None = None) -> Any:
        """Model outputs for `x` (channels-last), computed in batches without gradients: an
        array (a list of arrays for several outputs). `callbacks` hear on_predict_begin,
        on_predict_batch_begin/end ({"outputs": the batch's outputs}) and on_predict_end."""
        from convscope.engine import loop

        return loop.predict(self, x, batch_size=batch_size, steps=steps, callbacks=callbacks, verbose=verbose)

    def train_on_batch(self: TrainingModel, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None,
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
        logs = totals.result()
        compiled.record(logs)
        return keras_results(compiled, logs, return_dict)

    def test_on_batch(self: TrainingModel, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """Loss (and metrics) on the whole of `x`, `y` as one batch, as `evaluate` returns them."""
        from convscope.engine import arrays

        samples = arrays.samples_in(self, x)
        return self.evaluate(x, y, batch_size=max(samples, 1), verbose=0, sample_weight=sample_weight,
                             return_dict=return_dict)

    def predict_on_batch(self: TrainingModel, x: Any) -> Any:
        """Model outputs for `x` computed as one batch."""
        from convscope.engine import arrays

        return self.predict(x, batch_size=max(arrays.samples_in(self, x), 1))
