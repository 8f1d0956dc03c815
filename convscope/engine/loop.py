"""The one training loop behind `fit`, `evaluate` and `predict`.

The dataset lives on the device as one tensor; each step slices a shuffled batch from it, so no
per-sample Python runs. Losses and metrics accumulate as device tensors and are read only when
someone looks (the progress bar at a few Hz, and the end of each epoch): no per-step host sync.

Under torch.distributed (see `convscope.distributed`) the model is wrapped in
DistributedDataParallel and every global batch is split across the ranks, so N processes take
the same steps as one process with the same batch size and seed. Callbacks see where training
stands through `params["position"]` (`convscope.engine.checkpoint.TrainingPosition`), which
`Checkpointer` uses to save; `fit(..., resume=point)` resumes mid-epoch from the point
`restore_latest` returned. Models are anything that meets `engine.protocol.TrainableModel`.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from convscope import activations, distributed
from convscope.engine import arrays, sources
from convscope.engine import checkpoint as checkpointing
from convscope.engine.callbacks import Callback, CallbackList, History, LazyLogs
from convscope.engine.progress import ProgressLogger, resolve_verbose
from convscope.engine.threads import thread_policy
from convscope.ops.allocator import tune_host_allocator
from convscope.ops.device import autocast
from convscope.ops.threads import InferenceThreads

# Default batch for evaluate/predict: on a 2-core CPU the seed CNN predicts 21k images/s in
# batches of 128 and 11k in batches of 256 (the activations of 128 images stay in cache).
INFERENCE_BATCH = 128

if TYPE_CHECKING:
    from convscope.engine.compiled import Compiled
    from convscope.engine.protocol import TrainableModel


@dataclass
class Accumulator:
    """Running sums of the loss and each per-sample metric, kept on the device, plus the
    metrics that keep their own state (`update_state`/`result`)."""

    names: list[str]
    sums: torch.Tensor | None = None
    count: int = 0
    stateful: list[tuple[str, Any]] = field(default_factory=list)

    def add(self, values: torch.Tensor, batch_size: int) -> None:
        self.sums = values * batch_size if self.sums is None else self.sums + values * batch_size
        self.count += batch_size

    def result(self, prefix: str = "") -> dict[str, float]:
        if self.sums is None:
            return {}
        means = (self.sums / self.count).tolist()
        logs = {prefix + name: float(value) for name, value in zip(self.names, means)}
        logs.update({prefix + name: float(metric.result()) for name, metric in self.stateful})
        return logs


def averaged(metric: Any) -> bool:
    """Whether the engine averages the metric's per-sample `batch` scores itself."""
    return callable(getattr(metric, "batch", None))


def new_totals(compiled: Compiled) -> Accumulator:
    """An empty Accumulator for one epoch or evaluation; stateful metrics are reset."""
    stateful = [(name, metric) for name, metric in compiled.metrics if not averaged(metric)]
    for _, metric in stateful:
        metric.reset_state()
    names = ["loss", *(name for name, metric in compiled.metrics if averaged(metric))]
    return Accumulator(names, stateful=stateful)


def batch_values(compiled: Compiled, outputs: torch.Tensor, targets: torch.Tensor, logits: bool,
                 loss: torch.Tensor | None = None) -> torch.Tensor:
    """[loss, *metrics] for one batch, as one detached float32 vector. The loss includes the
    regularization penalties, as Keras reports it."""
    outputs = outputs.float()
    if loss is None:
        loss = compiled.loss._batch_mean(outputs, targets, logits=logits)
    if not compiled.metrics:
        return loss.detach().reshape(1)
    probabilities = compiled.output_activation(outputs) if logits else outputs
    return torch.stack([loss, *metric_scores(compiled, probabilities, targets)]).detach()


def metric_scores(compiled: Compiled, probabilities: torch.Tensor, targets: torch.Tensor) -> list[torch.Tensor]:
    """The batch mean of each per-sample metric; stateful metrics are updated instead."""
    scores = []
    for _, metric in compiled.metrics:
        scorer: Any = metric  # a MeanMetricWrapper (`batch`) or any Metric (`update_state`)
        if averaged(metric):
            scores.append(scorer.batch(probabilities, targets).mean())
        else:
            scorer.update_state(targets, probabilities)
    return scores


def total_loss(model: TrainableModel, compiled: Compiled, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The compiled loss plus the layers' regularization penalties (what Keras reports as loss)."""
    loss = compiled.loss._batch_mean(outputs, targets, logits=compiled.use_logits)
    penalty = model.regularization_penalty()
    return loss if penalty is None else loss + penalty


def train_step(model: TrainableModel, compiled: Compiled, x: torch.Tensor, y: torch.Tensor,
               network: torch.nn.Module | None = None, scale: float = 1.0) -> torch.Tensor:
    """One optimizer step. `network` is the DDP wrapper when distributed; `scale` weights this
    rank's loss by its share of the global batch, so DDP's gradient average is the global mean."""
    with autocast(model.device, compiled.autocast_dtype):
        outputs = (model if network is None else network)(x, logits=compiled.use_logits)
    outputs = outputs.float()
    total = total_loss(model, compiled, outputs, y)
    compiled.optimizer.zero_grad(set_to_none=True)
    (total if scale == 1.0 else total * scale).backward()
    compiled.optimizer.step()
    if compiled.constrained_layers:
        for layer in compiled.constrained_layers:
            layer.apply_constraints()
    with torch.no_grad():
        return batch_values(compiled, outputs.detach(), y, compiled.use_logits, total.detach())


def split_validation(x: torch.Tensor, y: torch.Tensor,
                     fraction: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keras's validation_split: the last `fraction` of the samples, taken before shuffling."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation_split must be in (0, 1); got {fraction}.")
    cut = int(math.floor(len(x) * (1 - fraction)))
    if cut == 0 or cut == len(x):
        raise ValueError(f"validation_split={fraction} leaves no training or no validation samples "
                         f"out of {len(x)}.")
    return x[:cut], y[:cut], x[cut:], y[cut:]


def fit(model: TrainableModel, x: Any, y: Any, *, batch_size: int | None = 32, epochs: int = 1,
        verbose: int | str = "auto", callbacks: list[Callback] | None = None,
        validation_split: float = 0.0, validation_data: Any = None,
        shuffle: bool = True, initial_epoch: int = 0, steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        resume: checkpointing.ResumePoint | None = None) -> History:
    """Train `model` (see `Sequential.fit`); `resume`, from `checkpoint.restore_latest`,
    continues a checkpoint that stopped mid-epoch at its step."""
    compiled = model.require_compiled("fit")
    batch_size = check_batch_size(batch_size)
    reuse_host_memory(model)
    source = None
    if sources.is_source(x):
        source = sources.source_for_fit(x, y, steps_per_epoch, validation_split)
        samples, steps = None, source.steps
    else:
        x_tensor, y_tensor = arrays.prepare_xy(model, compiled, x, y)
        samples = len(x_tensor)
    validation = prepare_validation(model, compiled, validation_data, validation_steps)
    if source is None and validation is None and validation_split:
        x_tensor, y_tensor, x_validation, y_validation = split_validation(x_tensor, y_tensor, validation_split)
        validation, samples = (x_validation, y_validation), len(x_tensor)
    if source is None:
        steps = math.ceil(len(x_tensor) / batch_size)
    history = History()
    position = checkpointing.start_position(initial_epoch, steps or 0, resume)
    # A TrainableModel is a torch.nn.Module (engine/protocol.py), which DDP wraps.
    network = distributed.wrap_model(cast("torch.nn.Module", model), model.device)
    if source is not None:
        sources.refuse_for_source(position.step, network is not None)
    if not distributed.is_main():  # rank 0 alone prints and runs the callbacks that write files
        verbose, callbacks = 0, distributed.main_only_callbacks(callbacks)
    params = {"epochs": epochs, "steps": steps, "samples": samples, "batch_size": None if source else batch_size,
              "verbose": verbose, "position": position}
    # A progress logger among the callbacks (Keras's ProgbarLogger) prints instead of fit's own.
    given = [callback for callback in callbacks or [] if isinstance(callback, ProgressLogger)]
    progress = given[0] if given else ProgressLogger(resolve_verbose(verbose))
    policy = thread_policy(model.device, compiled.threads, verbose=resolve_verbose(verbose) > 0,
                           distributed=network is not None)
    hooks = CallbackList([*(callbacks or []), history, *([] if given else [progress]),
                          *([policy] if policy else [])], model, params)
    if source is not None and steps is None and progress.verbose == 1:
        progress.verbose = 2  # no step count for a live bar: one line per epoch
    model.stop_training = False
    model.train()
    hooks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        hooks.on_epoch_begin(epoch)
        if source is None:
            logs = run_epoch(model, compiled, x_tensor, y_tensor, batch_size, shuffle, hooks, position, network)
        else:
            logs = run_source_epoch(model, compiled, source, shuffle, hooks, position, progress)
            if not logs:
                break
        if position.step == steps or (source is not None and steps is None):
            position.epoch, position.step = epoch + 1, 0
        if validation is not None:
            hooks.on_test_begin()
            validation_logs = evaluate_any(model, compiled, validation, prefix="val_")
            hooks.on_test_end(validation_logs)
            logs.update(validation_logs)
            model.train()
        compiled.epochs_done = epoch + 1
        hooks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    model.eval()
    hooks.on_train_end()
    model.history = history
    return history


def prepare_validation(model: TrainableModel, compiled: Compiled, validation_data: Any,
                       validation_steps: int | None) -> tuple[torch.Tensor, torch.Tensor] | sources.DataSource | None:
    """validation_data as device tensors, or as a DataSource read batch by batch."""
    if validation_data is None:
        return None
    if sources.is_source(validation_data):
        return sources.DataSource(validation_data, validation_steps, "validation_data")
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ValueError("validation_data must be a tuple (x_val, y_val), a keras.utils.PyDataset or a generator "
                         f"of (x_batch, y_batch); got {type(validation_data).__name__}.")
    x_validation, y_validation = validation_data
    return arrays.prepare_xy(model, compiled, x_validation, y_validation, names=("validation x", "validation y"))


def evaluate_any(model: TrainableModel, compiled: Compiled,
                 data: tuple[torch.Tensor, torch.Tensor] | sources.DataSource, prefix: str = "",
                 batch_size: int = INFERENCE_BATCH, threads: InferenceThreads | None = None) -> dict[str, float]:
    if isinstance(data, sources.DataSource):
        return evaluate_source(model, compiled, data, prefix=prefix, threads=threads)
    return evaluate_tensors(model, compiled, *data, batch_size=batch_size, prefix=prefix, threads=threads)


def run_source_epoch(model: TrainableModel, compiled: Compiled, source: sources.DataSource, shuffle: bool,
                     hooks: CallbackList, position: checkpointing.TrainingPosition,
                     progress: ProgressLogger) -> dict[str, float]:
    """One epoch over a PyDataset or generator; {} when the source had no batch left."""
    totals = new_totals(compiled)
    checkpointing.resume_epoch(position, totals, model.device)
    for step, (index, batch) in enumerate(source.batches(shuffle)):
        x_batch, y_batch = sources.prepare_batch(model, compiled, batch, index)
        if progress.params["batch_size"] is None:  # the bar's img/s counts from the first batch's size
            progress.params["batch_size"] = len(x_batch)
            progress.samples = len(x_batch) * (source.steps or 1)
        hooks.on_train_batch_begin(step)
        values = train_step(model, compiled, x_batch, y_batch)
        totals.add(values, len(x_batch))
        checkpointing.track_nonfinite(position, values[0])
        position.step, position.global_step = step + 1, position.global_step + 1
        hooks.on_train_batch_end(step, LazyLogs(totals.result))
        if model.stop_training:
            break
    source.epoch_end()
    progress.samples = totals.count
    if source.ran_out():
        warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or "
                      "generator can generate at least `steps_per_epoch * epochs` batches.", stacklevel=3)
        model.stop_training = True
    return epoch_logs(model, totals, position)


def epoch_logs(model: TrainableModel, totals: Accumulator, position: checkpointing.TrainingPosition) -> dict[str, float]:
    """The epoch's mean loss and metrics; a non-finite loss stops training and says where."""
    logs = totals.result()
    if not math.isfinite(logs.get("loss", 0.0)) or position.first_nonfinite_step() is not None:
        model.stop_training = True
        model.nonfinite_loss = True
        distributed.print_main(checkpointing.nonfinite_report(position), file=sys.stderr, flush=True)
    return logs


def run_epoch(model: TrainableModel, compiled: Compiled, x: torch.Tensor, y: torch.Tensor, batch_size: int,
              shuffle: bool, hooks: CallbackList, position: checkpointing.TrainingPosition | None = None,
              network: torch.nn.Module | None = None) -> dict[str, float]:
    samples = len(x)
    position = position or checkpointing.TrainingPosition(steps_per_epoch=math.ceil(samples / batch_size))
    order = checkpointing.epoch_order(samples, x.device, position, position.epoch) if shuffle else None
    totals = new_totals(compiled)
    first = checkpointing.resume_epoch(position, totals, x.device)
    for step, start in enumerate(range(first * batch_size, samples, batch_size), start=first):
        stop = min(start + batch_size, samples)
        index = order[start:stop] if order is not None else slice(start, stop)
        index, count, scale = distributed.shard_batch(index, start, stop, x.device)
        hooks.on_train_batch_begin(step)
        values = train_step(model, compiled, x[index], y[index], network, scale)
        totals.add(values, count)
        checkpointing.track_nonfinite(position, values[0])
        position.step, position.global_step = step + 1, position.global_step + 1
        hooks.on_train_batch_end(step, LazyLogs(totals.result))
        if model.stop_training:
            break
    distributed.reduce_totals(totals)
    return epoch_logs(model, totals, position)


@torch.inference_mode()
def evaluate_batches(model: TrainableModel, compiled: Compiled, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                     prefix: str = "", threads: InferenceThreads | None = None) -> dict[str, float]:
    """Mean loss and metrics over (x, y) device batches."""
    model.eval()
    totals = new_totals(compiled)
    for x_batch, target in batches:
        with autocast(model.device, compiled.autocast_dtype):
            outputs = model(x_batch, logits=compiled.use_logits)
        total = total_loss(model, compiled, outputs.float(), target)
        totals.add(batch_values(compiled, outputs, target, compiled.use_logits, total), len(target))
        if threads is not None:
            threads.after_batch()
    return totals.result(prefix)


def evaluate_tensors(model: TrainableModel, compiled: Compiled, x: torch.Tensor, y: torch.Tensor, *,
                     batch_size: int, prefix: str = "", threads: InferenceThreads | None = None) -> dict[str, float]:
    batches = ((x[start:start + batch_size], y[start:start + batch_size]) for start in range(0, len(x), batch_size))
    return evaluate_batches(model, compiled, batches, prefix, threads)


def evaluate_source(model: TrainableModel, compiled: Compiled, source: sources.DataSource, *, prefix: str = "",
                    threads: InferenceThreads | None = None) -> dict[str, float]:
    batches = (sources.prepare_batch(model, compiled, batch, index, source.argument)
               for index, batch in source.batches())
    logs = evaluate_batches(model, compiled, batches, prefix, threads)
    source.epoch_end()
    return logs


def evaluate(model: TrainableModel, x: Any, y: Any, *, batch_size: int | None = None, verbose: int | str = "auto",
             return_dict: bool = False, steps: int | None = None) -> float | list[float] | dict[str, float]:
    compiled = model.require_compiled("evaluate")
    reuse_host_memory(model)
    data: tuple[torch.Tensor, torch.Tensor] | sources.DataSource
    if sources.is_source(x):
        sources.refuse_y(x, y)
        data = sources.DataSource(x, steps)
    else:
        data = arrays.prepare_xy(model, compiled, x, y)
    started = time.perf_counter()
    with InferenceThreads(model.device, compiled.threads) as threads:
        logs = evaluate_any(model, compiled, data, batch_size=check_batch_size(batch_size or INFERENCE_BATCH),
                            threads=threads)
    if resolve_verbose(verbose) > 0:
        print(f"evaluate - {time.perf_counter() - started:.1f}s - "
              + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()), flush=True)
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


@torch.inference_mode()
def predict(model: TrainableModel, x: Any, *, batch_size: int | None = None, steps: int | None = None) -> np.ndarray:
    """Outputs for every sample of `x` (arrays, a PyDataset or a generator of batches), computed
    in batches, as a float32 NumPy array."""
    batch_size = check_batch_size(batch_size or INFERENCE_BATCH)
    reuse_host_memory(model)
    if sources.is_source(x):
        source = sources.DataSource(x, steps)
        batches = (sources.prepare_batch_x(model, batch, index) for index, batch in source.batches())
    else:
        source = None
        x_tensor = arrays.prepare_x(model, x)
        batches = (x_tensor[start:start + batch_size] for start in range(0, len(x_tensor), batch_size))
    dtype = model.compiled.autocast_dtype if model.compiled is not None else None
    # Under bfloat16 the final softmax/sigmoid runs in float32 on the logits, so probabilities
    # still sum to 1 to float32 precision.
    final = model.output_activation_name() if dtype is not None else None
    finish = activations.get(final) if final in ("softmax", "sigmoid") else None
    model.eval()
    outputs = []
    with InferenceThreads(model.device, model.compiled.threads if model.compiled is not None else None) as threads:
        for x_batch in batches:
            with autocast(model.device, dtype):
                batch = model(x_batch, logits=finish is not None)
            outputs.append(finish(batch.float()) if finish is not None else batch.float())
            threads.after_batch()
    if source is not None:
        source.epoch_end()
    if not outputs:
        # No samples: an axis the model leaves unknown (None) has no size to take, so it is 0.
        output_sizes = [size or 0 for size in model.require_output_shape("predict")[1:]]
        return np.zeros((0, *output_sizes), dtype=np.float32)
    return torch.cat(outputs).cpu().numpy()


def reuse_host_memory(model: TrainableModel) -> None:
    """On the CPU, keep freed activation buffers for the next step (`engine/allocator.py`)."""
    if model.device.type == "cpu":
        tune_host_allocator()


def check_batch_size(batch_size: int | None) -> int:
    if batch_size is None:
        return 32
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    return batch_size
