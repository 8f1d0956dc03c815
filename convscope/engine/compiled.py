"""What `compile` decided, the state the training loop runs with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import torch

from convscope import losses, optimizers
from convscope import metrics as metrics_module
from convscope.layers import Layer


@dataclass
class OutputHead:
    """What `compile` decided for one model output: its loss and loss weight, its metrics
    (`metrics` see every sample alike; `weighted_metrics` count each by its sample weight, as
    Keras does) and whether the loss takes the output's logits.

    `key` names the output in y dicts and prefixes its logs ("class_out_loss"); a model with
    one output has no prefix (key None).
    """

    key: str | None
    loss: losses.Loss | None
    loss_weight: float | None = None
    metrics: list[tuple[str, metrics_module.Metric]] = field(default_factory=list)
    weighted_metrics: list[tuple[str, metrics_module.Metric]] = field(default_factory=list)
    use_logits: bool = False
    output_activation: Callable[[torch.Tensor], torch.Tensor] = field(default=lambda x: x)
    metric_names: list[str] = field(default_factory=list)  # as given, before the output prefix
    weighted_metric_names: list[str] = field(default_factory=list)


@dataclass
class LogLayout:
    """Where each log value comes from: the loop adds one vector per batch, `columns` long
    (loss, per-output losses, per-sample metric means, and for each weighted metric the sums
    of weight x score and of weights), and reads the logs as their running means."""

    columns: list[str]
    means: list[tuple[str, int]]  # (log name, column)
    ratios: list[tuple[str, int, int]]  # (log name, numerator column, denominator column)
    stateful: list[tuple[str, metrics_module.Metric, bool]]  # (log name, metric, weighted)
    order: list[str]  # the logs' order
    output_losses: list[str]  # "<output>_loss" for each output with a loss, when several have one
    keras_order: list[str]  # the names Keras lists results by (see `Compiled.results_list`)


class CompileMetrics(metrics_module.Metric):
    """The entry `Model.metrics` lists for compile's metrics and weighted_metrics, as Keras's
    CompileMetrics: `metrics` holds the metric objects (every output's, weighted ones last) and
    `result()` the values the last fit epoch, evaluation or *_on_batch call logged for them, by
    log name ({"accuracy": 0.91}; {"class_out_accuracy": ...} for several outputs).

    Raises (from `result`):
        ValueError: before any of those calls ran, as Keras's unbuilt CompileMetrics does.
    """

    def __init__(self, metrics: list[tuple[str, metrics_module.Metric]]) -> None:
        super().__init__(name="compile_metrics")
        self.log_names = [name for name, _ in metrics]
        self.metrics = [metric for _, metric in metrics]
        self.values: dict[str, Any] | None = None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        raise ValueError("compile_metrics: the training loop updates the compiled metrics; call fit, evaluate, "
                         "train_on_batch or test_on_batch, then read model.get_metrics_result().")

    def record(self, logs: dict[str, Any]) -> None:
        self.values = {name: logs[name] for name in self.log_names if name in logs}

    def result(self) -> dict[str, Any]:  # type: ignore[override]
        if self.values is None:
            raise ValueError("Cannot get result() since the metric has not yet been built. Train or evaluate the "
                             "model first (fit, evaluate, train_on_batch or test_on_batch).")
        return dict(self.values)

    def reset_state(self) -> None:
        if self.values is not None:
            self.values = {name: 0.0 for name in self.values}


@dataclass
class Compiled:
    """What `compile` decided: optimizer, one `OutputHead` per model output, precision and device."""

    optimizer_recipe: optimizers.Optimizer | None
    optimizer: torch.optim.Optimizer
    keras_optimizer: optimizers.Optimizer  # the recipe, or a ready torch optimizer seen through it
    heads: list[OutputHead]
    precision: str
    autocast_dtype: torch.dtype | None
    constrained_layers: list[Layer]
    settings: dict[str, Any] = field(default_factory=dict)  # loss, loss_weights, metrics as JSON for saving
    epochs_done: int = 0
    threads: int | str | None = None  # None or "auto": `fit` chooses while it runs
    masked: bool = False  # the model makes masks: its averaged metrics are ratios (see `log_layout`)
    has_compile_metrics: bool = False  # compile got metrics or weighted_metrics (even empty ones), as Keras counts
    ran: bool = False  # a fit epoch, evaluation or *_on_batch call has logged results (`record`)
    loss_argument: Any = None  # compile's loss as given (Keras's `model.loss`)

    @property
    def inference_dtype(self) -> torch.dtype | None:
        """Autocast for evaluate and predict: bfloat16 only when compile asked for it by name.

        precision="auto" trains in bfloat16 where the CPU has it natively but evaluates and
        predicts in float32, so a model predicts the same numbers compiled or not, saved and
        loaded or not, as a Keras model does.
        """
        return self.autocast_dtype if self.precision == "bfloat16" else None

    # -- one output: what the loop's fast path and older callers read ----------------------------
    @cached_property
    def single(self) -> bool:
        return len(self.heads) == 1

    @property
    def loss(self) -> losses.Loss:
        """The loss of a one-output model (the first output's loss otherwise)."""
        loss = next((head.loss for head in self.heads if head.loss is not None), None)
        assert loss is not None  # compile refuses a model without any loss
        return loss

    @property
    def metrics(self) -> list[tuple[str, metrics_module.Metric]]:
        """(log name, metric) for every metric of every output, weighted ones last."""
        return [*(pair for head in self.heads for pair in head.metrics),
                *(pair for head in self.heads for pair in head.weighted_metrics)]

    @property
    def use_logits(self) -> bool:
        return any(head.use_logits for head in self.heads)

    @cached_property
    def logits(self) -> bool | list[bool]:
        """What the loop passes as the model's `logits` argument: one flag, or one per output."""
        return self.heads[0].use_logits if self.single else [head.use_logits for head in self.heads]

    @property
    def output_activation(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return self.heads[0].output_activation

    @property
    def log_names(self) -> list[str]:
        return self.layout.order

    @cached_property
    def layout(self) -> LogLayout:
        return log_layout(self.heads, self.masked)

    # -- what Keras's Model.metrics, metrics_names and get_metrics_result show -------------------
    @cached_property
    def loss_trackers(self) -> list[metrics_module.Mean]:
        """A Mean for "loss" and, for several outputs with losses, one per output loss: each
        holds the value last logged under its name (`record`)."""
        return [metrics_module.Mean(name=name) for name in ("loss", *self.layout.output_losses)]

    @cached_property
    def compile_metrics(self) -> CompileMetrics | None:
        return CompileMetrics(self.metrics) if self.has_compile_metrics else None

    def record(self, logs: dict[str, Any]) -> None:
        """Keep `logs` (unprefixed: a fit epoch's, an evaluation's, a batch's) as the metrics'
        state, as Keras's metrics hold the last run's values."""
        for tracker in self.loss_trackers:
            tracker.reset_state()
            if tracker.name in logs:
                tracker.update_state(logs[tracker.name])
        if self.compile_metrics is not None:
            self.compile_metrics.record(logs)
        self.ran = True

    def keras_metrics(self) -> list[metrics_module.Metric]:
        """Keras's `Model.metrics` order: the loss tracker, the compile metrics, then each
        output's loss tracker (these once a step has run, as Keras builds them on the first)."""
        trackers = self.loss_trackers
        compiled = [self.compile_metrics] if self.compile_metrics is not None else []
        return [trackers[0], *compiled, *(trackers[1:] if self.ran else [])]

    def metrics_result(self) -> dict[str, Any]:
        """Keras's `get_metrics_result()`: each metric's result by name, the compile metrics'
        entries spread out (raises ValueError as `CompileMetrics.result` does before a step)."""
        results: dict[str, Any] = {}
        for metric in self.keras_metrics():
            result = metric.result()
            if isinstance(result, dict):
                results.update(result)
            else:
                results[metric.name] = float(result)
        return results

    def results_list(self, logs: dict[str, float]) -> list[float]:
        """`logs` as the list Keras's evaluate returns: "loss", then the logs whose names match
        a metric's own name (one output) or an output's loss, then the rest sorted by name."""
        order = [name for name in self.layout.keras_order if name in logs]
        return [logs[name] for name in order] + [logs[name] for name in sorted(logs) if name not in order]


def averaged(metric: Any) -> bool:
    """Whether the engine averages the metric's per-sample `batch` scores itself."""
    return callable(getattr(metric, "batch", None))


def log_layout(heads: list[OutputHead], masked: bool = False) -> LogLayout:
    """The columns and log names for `heads` (see `LogLayout`). With `masked` (a model that
    makes masks) every averaged metric is a ratio, as Keras counts the real steps of all batches."""
    columns, means, ratios = ["loss"], [("loss", 0)], []
    stateful: list[tuple[str, metrics_module.Metric, bool]] = []
    with_loss = [head for head in heads if head.loss is not None]
    output_losses = [f"{head.key}_loss" for head in with_loss] if len(with_loss) > 1 else []
    for name in output_losses:
        means.append((name, len(columns)))
        columns.append(name)
    metric_order = []
    for weighted in (False, True):
        for head in heads:
            for name, metric in head.weighted_metrics if weighted else head.metrics:
                metric_order.append(name)
                if not averaged(metric):
                    stateful.append((name, metric, weighted))
                elif weighted or masked:
                    ratios.append((name, len(columns), len(columns) + 1))
                    columns += [f"{name}/weighted", f"{name}/weights"]
                else:
                    means.append((name, len(columns)))
                    columns.append(name)
    own_names = [*(name for head in heads for name in head.metric_names),
                 *(name for head in heads for name in head.weighted_metric_names)]
    return LogLayout(columns, means, ratios, stateful, ["loss", *output_losses, *metric_order], output_losses,
                     ["loss", *own_names, *output_losses])


def check_threads(threads: int | str | None) -> int | str | None:
    """`compile`'s threads setting: a positive integer, "auto" or None.

    Raises:
        ValueError: for anything else.
    """
    if threads is None or threads == "auto" or (isinstance(threads, int) and not isinstance(threads, bool)
                                                and threads > 0):
        return threads
    raise ValueError(f"compile: threads must be a positive integer, 'auto' or None; got {threads!r}.")
