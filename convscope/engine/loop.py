"""The one training loop behind `fit`, `evaluate` and `predict`.

The dataset lives on the device as one tensor; each step slices a shuffled batch from it, so no
per-sample Python runs. Losses and metrics accumulate as device tensors and are read only when
someone looks (the progress bar at a few Hz, and the end of each epoch): no per-step host sync.
A model with several inputs or outputs gets lists of such tensors, and sample weights ride
along, sliced by the same index (`engine/arrays.py`); `engine/objective.py` computes each
batch's loss and logs.

Under torch.distributed (see `convscope.distributed`) the model is wrapped in
DistributedDataParallel and every global batch is split across the ranks, so N processes take
the same steps as one process with the same batch size and seed. Callbacks see Keras's `params`
({"verbose", "epochs", "steps"}) and where training stands through `fit_state.position`
(`convscope.engine.checkpoint.TrainingPosition`), which `Checkpointer` uses to save;
`fit(..., resume=point)` resumes mid-epoch from the point `restore_latest` returned. Models are
anything that meets `engine.protocol.TrainableModel`.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from convscope import activations, distributed
from convscope.engine import arrays, sources
from convscope.engine import backup as backups
from convscope.engine import checkpoint as checkpointing
from convscope.engine.arrays import Data, Prepared, Targets, Weights, sample_count, take
from convscope.engine.callbacks import Callback, CallbackList, FitState, History, LazyLogs
from convscope.engine.objective import (
    Accumulator,
    batch_losses,
    batch_values,
    new_totals,
    note_masks,
    output_list,
)
from convscope.engine.progress import ProgressLogger, format_metrics, resolve_verbose
from convscope.engine.threads import thread_policy
from convscope.layers import masking
from convscope.ops.allocator import tune_host_allocator
from convscope.ops.device import autocast
from convscope.ops.threads import InferenceThreads

# Default batch for evaluate/predict: on a 2-core CPU the seed CNN predicts 21k images/s in
# batches of 128 and 11k in batches of 256 (the activations of 128 images stay in cache).
INFERENCE_BATCH = 128

if TYPE_CHECKING:
    from convscope.engine.compiled import Compiled
    from convscope.engine.protocol import TrainableModel


def train_step(model: TrainableModel, compiled: Compiled, x: Data, y: Targets,
               network: torch.nn.Module | None = None, scale: float = 1.0,
               sample_weight: Weights = None) -> torch.Tensor:
    """One optimizer step (none, with a warning, when no weight is trainable). `network` is the
    DDP wrapper when distributed; `scale` weights this rank's loss by its share of the global
    batch, so DDP's gradient average is the global mean."""
    with autocast(model.device, compiled.autocast_dtype):
        outputs = output_list((model if network is None else network)(x, logits=compiled.logits))
    total, parts = batch_losses(model, compiled, outputs, y, sample_weight)
    if total.requires_grad:
        compiled.optimizer.zero_grad(set_to_none=True)
        (total if scale == 1.0 else total * scale).backward()
        compiled.optimizer.step()
        if compiled.constrained_layers:
            for layer in compiled.constrained_layers:
                layer.apply_constraints()
    else:  # every weight frozen: Keras returns the loss and metrics and updates nothing
        warnings.warn("The model does not have any trainable weights.", stacklevel=3)
    with torch.no_grad():
        detached = [masking.attach(output.detach(), masking.output_mask(output)) for output in outputs]
        return batch_values(compiled, detached, y, sample_weight, total.detach(),
                            parts)


def split_validation(data: Prepared, fraction: float) -> tuple[Prepared, Prepared]:
    """Keras's validation_split: the last `fraction` of the samples (inputs, targets and sample
    weights alike), taken before shuffling."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation_split must be in (0, 1); got {fraction}.")
    samples = sample_count(data[0])
    cut = int(math.floor(samples * (1 - fraction)))
    if cut == 0 or cut == samples:
        raise ValueError(f"validation_split={fraction} leaves no training or no validation samples "
                         f"out of {samples}.")
    train, validation = slice(None, cut), slice(cut, None)
    return (take(data[0], train), take(data[1], train), take(data[2], train)), \
        (take(data[0], validation), take(data[1], validation), take(data[2], validation))


def fit(model: TrainableModel, x: Any, y: Any, *, batch_size: int | None = 32, epochs: int = 1,
        verbose: int | str = "auto", callbacks: list[Callback] | None = None,
        validation_split: float = 0.0, validation_data: Any = None, shuffle: bool = True,
        class_weight: Any = None, sample_weight: Any = None, initial_epoch: int = 0,
        steps_per_epoch: int | None = None, validation_steps: int | None = None,
        validation_batch_size: int | None = None, validation_freq: int | list[int] = 1,
        resume: checkpointing.ResumePoint | None = None) -> History:
    """Train `model` (see `Model.fit`); `resume`, from `checkpoint.restore_latest`,
    continues a checkpoint that stopped mid-epoch at its step."""
    compiled = model.require_compiled("fit")
    note_masks(model, compiled)
    batch_size = check_batch_size(batch_size)
    validation_batch = check_batch_size(validation_batch_size or INFERENCE_BATCH)
    check_validation_freq(validation_freq)
    reuse_host_memory(model)
    source = None
    if sources.is_source(x):
        source = sources.source_for_fit(x, y, steps_per_epoch, validation_split, sample_weight)
        samples, steps = None, source.steps
    else:
        data = arrays.prepare_xy(model, compiled, x, y, sample_weight=sample_weight, class_weight=class_weight)
        samples = sample_count(data[0])
    validation = prepare_validation(model, compiled, validation_data, validation_steps)
    if source is None and validation is None and validation_split:
        data, validation = split_validation(data, validation_split)
        if class_weight is not None:  # Keras weighs the training part by class only
            validation = (validation[0], validation[1], None)
        samples = sample_count(data[0])
    if source is None:
        steps = math.ceil(sample_count(data[0]) / batch_size)
    # Keras records into a History given among the callbacks, else into a new one
    given_history = [callback for callback in callbacks or [] if isinstance(callback, History)]
    history = given_history[0] if given_history else History()
    added_history = [] if given_history else [history]
    initial_epoch, resume = backups.restore_for_fit(model, callbacks, initial_epoch, resume, source is None)
    position = checkpointing.start_position(initial_epoch, steps or 0, resume)
    # A TrainableModel is a torch.nn.Module (engine/protocol.py), which DDP wraps.
    network = distributed.wrap_model(cast("torch.nn.Module", model), model.device)
    if source is not None:
        sources.refuse_for_source(position.step, network is not None)
    if not distributed.is_main():  # rank 0 alone prints and runs the callbacks that write files
        verbose, callbacks = 0, distributed.main_only_callbacks(callbacks)
    params = {"verbose": verbose, "epochs": epochs, "steps": steps}  # exactly Keras's
    fit_state = FitState(position, samples, None if source else batch_size)
    # A progress logger among the callbacks (Keras's ProgbarLogger) prints instead of fit's own.
    given = [callback for callback in callbacks or [] if isinstance(callback, ProgressLogger)]
    level = resolve_verbose(verbose)
    progress = given[0] if given else ProgressLogger(level)
    policy = thread_policy(model.device, compiled.threads, verbose=level > 0,
                           distributed=network is not None)
    hooks = CallbackList([*(callbacks or []), *added_history, *([] if given else [progress]),
                          *([policy] if policy else [])], model, params, fit_state)
    if source is not None and steps is None and progress.verbose == 1:
        progress.verbose = 2  # no step count for a live bar: one line per epoch
    model.stop_training = False
    model.history = history  # as Keras: callbacks see this fit's History from on_train_begin
    model.train()
    logs: dict[str, Any] = {}
    hooks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        hooks.on_epoch_begin(epoch)
        if source is None:
            logs = run_epoch(model, compiled, data, batch_size, shuffle, hooks, position, network)
        else:
            logs = run_source_epoch(model, compiled, source, shuffle, hooks, position, progress, class_weight)
            if not logs:
                break
        if position.step == steps or (source is not None and steps is None):
            position.epoch, position.step = epoch + 1, 0
        compiled.record(logs)  # validation below records its own, as Keras's metrics end with them
        if validation is not None and validates(epoch, validation_freq):
            hooks.on_test_begin()
            validation_logs = evaluate_any(model, compiled, validation, batch_size=validation_batch, hooks=hooks)
            hooks.on_test_end(validation_logs)  # unprefixed, as Keras's evaluate gives them
            logs.update({f"val_{name}": value for name, value in validation_logs.items()})
            model.train()
        compiled.epochs_done = epoch + 1
        hooks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    model.eval()
    hooks.on_train_end(logs)  # the last epoch's logs, as Keras passes them
    return history


def check_validation_freq(validation_freq: Any) -> None:
    """Keras takes an int N >= 1 (every N-th epoch) or a list of epochs counted from 1."""
    every = isinstance(validation_freq, int) and not isinstance(validation_freq, bool) and validation_freq >= 1
    listed = isinstance(validation_freq, list) and all(isinstance(epoch, int) for epoch in validation_freq)
    if not (every or listed):
        raise ValueError(f"validation_freq must be an integer >= 1 (validate every N-th epoch) or a list of epochs "
                         f"counted from 1, e.g. [1, 5, 10]; got {validation_freq!r}.")


def validates(epoch: int, validation_freq: int | list[int]) -> bool:
    """Whether epoch `epoch` (counted from 0) ends with validation, as Keras decides."""
    if isinstance(validation_freq, list):
        return epoch + 1 in validation_freq
    return (epoch + 1) % validation_freq == 0


def prepare_validation(model: TrainableModel, compiled: Compiled, validation_data: Any,
                       validation_steps: int | None) -> Prepared | sources.DataSource | None:
    """validation_data, (x_val, y_val) or (x_val, y_val, val_sample_weight), as device tensors,
    or a DataSource read batch by batch."""
    if validation_data is None:
        return None
    if sources.is_source(validation_data):
        return sources.DataSource(validation_data, validation_steps, "validation_data")
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, val_sample_weight), a "
                         "keras.utils.PyDataset or a generator of (x_batch, y_batch); got "
                         f"{type(validation_data).__name__}"
                         + (f" of {len(validation_data)} items" if isinstance(validation_data, (tuple, list)) else "")
                         + ".")
    x_validation, y_validation, *weights = validation_data
    return arrays.prepare_xy(model, compiled, x_validation, y_validation,
                             names=("validation x", "validation y", "validation sample_weight"),
                             sample_weight=weights[0] if weights else None)


def evaluate_any(model: TrainableModel, compiled: Compiled, data: Prepared | sources.DataSource, prefix: str = "",
                 batch_size: int = INFERENCE_BATCH, threads: InferenceThreads | None = None,
                 hooks: CallbackList | None = None) -> dict[str, float]:
    if isinstance(data, sources.DataSource):
        return evaluate_source(model, compiled, data, prefix=prefix, threads=threads, hooks=hooks)
    return evaluate_tensors(model, compiled, data, batch_size=batch_size, prefix=prefix, threads=threads,
                            hooks=hooks)


def run_source_epoch(model: TrainableModel, compiled: Compiled, source: sources.DataSource, shuffle: bool,
                     hooks: CallbackList, position: checkpointing.TrainingPosition,
                     progress: ProgressLogger, class_weight: Any = None) -> dict[str, float]:
    """One epoch over a PyDataset or generator; {} when the source had no batch left."""
    totals = new_totals(compiled)
    checkpointing.resume_epoch(position, totals, model.device)
    for step, (index, batch) in enumerate(source.batches(shuffle)):
        x_batch, y_batch, weights = sources.prepare_batch(model, compiled, batch, index, class_weight=class_weight)
        count = sample_count(x_batch)
        if progress.fit_state.batch_size is None:  # the bar's img/s counts from the first batch's size
            progress.fit_state.batch_size = count
            progress.samples = count * (source.steps or 1)
        hooks.on_train_batch_begin(step)
        values = train_step(model, compiled, x_batch, y_batch, sample_weight=weights)
        totals.add(values, count)
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


def run_epoch(model: TrainableModel, compiled: Compiled, data: Prepared, batch_size: int,
              shuffle: bool, hooks: CallbackList, position: checkpointing.TrainingPosition | None = None,
              network: torch.nn.Module | None = None) -> dict[str, float]:
    x, y, weights = data
    samples = sample_count(x)
    device = x.device if isinstance(x, torch.Tensor) else x[0].device
    position = position or checkpointing.TrainingPosition(steps_per_epoch=math.ceil(samples / batch_size))
    order = checkpointing.epoch_order(samples, device, position, position.epoch) if shuffle else None
    totals = new_totals(compiled)
    first = checkpointing.resume_epoch(position, totals, device)
    for step, start in enumerate(range(first * batch_size, samples, batch_size), start=first):
        stop = min(start + batch_size, samples)
        index = order[start:stop] if order is not None else slice(start, stop)
        index, count, scale = distributed.shard_batch(index, start, stop, device)
        hooks.on_train_batch_begin(step)
        values = train_step(model, compiled, take(x, index), take(y, index), network, scale, take(weights, index))
        totals.add(values, count)
        checkpointing.track_nonfinite(position, values[0])
        position.step, position.global_step = step + 1, position.global_step + 1
        hooks.on_train_batch_end(step, LazyLogs(totals.result))
        if model.stop_training:
            break
    distributed.reduce_totals(totals)
    return epoch_logs(model, totals, position)


@torch.inference_mode()
def evaluate_batches(model: TrainableModel, compiled: Compiled, batches: Iterable[Prepared],
                     prefix: str = "", threads: InferenceThreads | None = None,
                     hooks: CallbackList | None = None) -> dict[str, float]:
    """Mean loss and metrics over (x, y, sample_weight) device batches; `hooks` hear each
    batch's begin and end (with the running logs), as Keras's test hooks do."""
    model.eval()
    totals = new_totals(compiled)
    for step, (x_batch, target, weights) in enumerate(batches):
        if hooks is not None:
            hooks.on_test_batch_begin(step)
        with autocast(model.device, compiled.inference_dtype):
            outputs = output_list(model(x_batch, logits=compiled.logits))
        total, parts = batch_losses(model, compiled, outputs, target, weights)
        totals.add(batch_values(compiled, outputs, target, weights, total, parts), sample_count(x_batch))
        if hooks is not None:
            hooks.on_test_batch_end(step, LazyLogs(totals.result))
        if threads is not None:
            threads.after_batch()
    logs = totals.result()
    compiled.record(logs)
    return {prefix + name: value for name, value in logs.items()}


def evaluate_tensors(model: TrainableModel, compiled: Compiled, data: Prepared, *, batch_size: int,
                     prefix: str = "", threads: InferenceThreads | None = None,
                     hooks: CallbackList | None = None) -> dict[str, float]:
    batches = ((take(data[0], part), take(data[1], part), take(data[2], part))
               for part in (slice(start, start + batch_size) for start in range(0, sample_count(data[0]), batch_size)))
    return evaluate_batches(model, compiled, batches, prefix, threads, hooks)


def evaluate_source(model: TrainableModel, compiled: Compiled, source: sources.DataSource, *, prefix: str = "",
                    threads: InferenceThreads | None = None, hooks: CallbackList | None = None) -> dict[str, float]:
    batches = (sources.prepare_batch(model, compiled, batch, index, source.argument)
               for index, batch in source.batches())
    logs = evaluate_batches(model, compiled, batches, prefix, threads, hooks)
    source.epoch_end()
    return logs


def evaluate(model: TrainableModel, x: Any, y: Any, *, batch_size: int | None = None, verbose: int | str = "auto",
             sample_weight: Any = None, steps: int | None = None, callbacks: list[Callback] | None = None,
             return_dict: bool = False) -> float | list[float] | dict[str, float]:
    """Loss and metrics of `model` on `x`, `y` (see `Model.evaluate`); `callbacks` hear
    on_test_begin, each batch's begin and end and on_test_end, with Keras's params."""
    compiled = model.require_compiled("evaluate")
    note_masks(model, compiled)
    reuse_host_memory(model)
    data: Prepared | sources.DataSource
    if sources.is_source(x):
        sources.refuse_y(x, y)
        sources.refuse_y(x, sample_weight, "sample_weight")
        data = sources.DataSource(x, steps)
    else:
        data = arrays.prepare_xy(model, compiled, x, y, sample_weight=sample_weight)
    batch_size = check_batch_size(batch_size or INFERENCE_BATCH)
    hooks = None
    if callbacks:
        batches = data.steps if isinstance(data, sources.DataSource) else math.ceil(sample_count(data[0]) / batch_size)
        hooks = CallbackList(callbacks, model, {"verbose": verbose, "epochs": 1, "steps": batches})
        hooks.on_test_begin()
    started = time.perf_counter()
    with InferenceThreads(model.device, compiled.threads) as threads:
        logs = evaluate_any(model, compiled, data, batch_size=batch_size, threads=threads, hooks=hooks)
    if hooks is not None:
        hooks.on_test_end(keras_dict(logs))
    if resolve_verbose(verbose) > 0:
        print(f"evaluate - {time.perf_counter() - started:.1f}s - " + format_metrics(logs), flush=True)
    if return_dict:
        return keras_dict(logs)
    values = compiled.results_list(logs)
    return values[0] if len(values) == 1 else values


def keras_dict(logs: dict[str, Any]) -> dict[str, Any]:
    """Logs in the order Keras 3 returns them from evaluate and the *_on_batch calls: sorted by
    name. (Keras sorts the logs it hands to callbacks too; fit's keep "loss" first.)"""
    return dict(sorted(logs.items()))


@torch.inference_mode()
def predict(model: TrainableModel, x: Any, *, batch_size: int | None = None,
            steps: int | None = None, callbacks: list[Callback] | None = None,
            verbose: int | str = 0) -> np.ndarray | list[np.ndarray]:
    """Outputs for every sample of `x` (arrays, a PyDataset or a generator of batches; a list or
    dict of them for several inputs), computed in batches, as a float32 NumPy array (a list of
    them, in output order, for several outputs). `callbacks` hear on_predict_begin, each
    batch's begin and end ({"outputs": that batch's outputs, as NumPy}) and on_predict_end."""
    batch_size = check_batch_size(batch_size or INFERENCE_BATCH)
    reuse_host_memory(model)
    batches: Iterable[Data]
    if sources.is_source(x):
        source = sources.DataSource(x, steps)
        batches = (sources.prepare_batch_x(model, batch, index) for index, batch in source.batches())
    else:
        source = None
        data = arrays.prepare_x(model, x)
        batches = (take(data, slice(start, start + batch_size)) for start in range(0, sample_count(data), batch_size))
    one_output = len(model.data_keys()[1]) == 1
    dtype = model.compiled.inference_dtype if model.compiled is not None else None
    # Under bfloat16 the final softmax/sigmoid runs in float32 on the logits, so probabilities
    # still sum to 1 to float32 precision.
    final = model.output_activation_name() if dtype is not None and one_output else None
    finish = activations.get(final) if final in ("softmax", "sigmoid") else None
    model.eval()
    hooks = None
    if callbacks:
        count = source.steps if source is not None else math.ceil(sample_count(data) / batch_size)
        hooks = CallbackList(callbacks, model, {"verbose": verbose, "epochs": 1, "steps": count})
        hooks.on_predict_begin()
    pieces: list[list[torch.Tensor]] = []
    with InferenceThreads(model.device, model.compiled.threads if model.compiled is not None else None) as threads:
        for step, x_batch in enumerate(batches):
            if hooks is not None:
                hooks.on_predict_batch_begin(step)
            with autocast(model.device, dtype):
                outputs = output_list(model(x_batch, logits=finish is not None))
            pieces.append([finish(outputs[0])] if finish is not None else outputs)
            if hooks is not None:
                arrays_out = [piece.float().cpu().numpy() for piece in pieces[-1]]
                hooks.on_predict_batch_end(step, {"outputs": arrays_out[0] if one_output else arrays_out})
            threads.after_batch()
    if source is not None:
        source.epoch_end()
    if hooks is not None:
        hooks.on_predict_end()
    if pieces:
        results = [torch.cat([piece[index] for piece in pieces]).cpu().numpy() for index in range(len(pieces[0]))]
    else:  # no samples: an axis the model leaves unknown (None) has no size to take, so it is 0
        results = [np.zeros((0, *(size or 0 for size in shape[1:])), dtype=np.float32)
                   for shape in model.require_output_shapes("predict")]
    return results[0] if one_output else results


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
