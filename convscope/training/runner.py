"""A training run from start to finish: load the data, build and compile the model, train it
with checkpoints, evaluate it on the test set, and leave a complete run folder
(`convscope.runs`). This is `convscope train` without the command line.

    >>> from convscope.training import TrainSettings, train_run
    >>> train_run(TrainSettings(model="seed-cnn", data="fashion_mnist", epochs=1), Path("runs/fashion"))
    PosixPath('runs/fashion')
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from convscope.training.data import Data, as_inputs, describe_split, load_data
from convscope.training.plots import write_plots
from convscope.training.recipe import (
    TrainSettings,
    compile_recipe,
    recipe_callbacks,
    recorded_settings,
)
from convscope.training.specs import build_model, is_spec_file

if TYPE_CHECKING:
    from convscope.inference.preprocessing import Preprocessing
    from convscope.models.model import Model
    from convscope.runs.recorder import RunRecorder


def default_run_folder(settings: TrainSettings) -> Path:
    """runs/<model>-<data>-<time>, e.g. runs/seed-cnn-fashion_mnist-20260101-120000."""
    stem = Path(settings.model).stem if is_spec_file(settings.model) else settings.model
    return Path(f"runs/{stem}-{Path(settings.data).stem}-{time.strftime('%Y%m%d-%H%M%S')}")


def resume_settings(folder: str | Path, epochs: int | None = None) -> TrainSettings:
    """The settings run `folder` recorded, to continue it (with a new `epochs` total, if given).

    Raises:
        FileNotFoundError: `folder` holds no run config.
        ValueError: a config.json that is not a convscope run's.
    """
    from convscope import runs
    from convscope.models.saving import read_json

    config_file = Path(folder).expanduser() / runs.CONFIG_FILE
    if not config_file.is_file():
        raise FileNotFoundError(f"{Path(folder).expanduser()}: no run to resume (no {runs.CONFIG_FILE}).")
    recorded = read_json(config_file).get("train")
    if not isinstance(recorded, dict):
        raise ValueError(f"{config_file}: not a convscope run config (no 'train' settings).")
    return recorded_settings(recorded, epochs)


def train_run(settings: TrainSettings, out: str | Path, *, overwrite: bool = False, resume: bool = False,
              nproc: int = 1, checkpoint_every: int | None = None, stream: TextIO | None = None,
              verbose: int | str = "auto") -> Path:
    """Train as `settings` say and write the run folder `out`; returns its path.

    With `resume`, `out` is an existing run: training continues from its newest good checkpoint.
    With `nproc` > 1, `nproc` local processes train together and rank 0 writes the folder.
    Progress and results are printed to `stream` (default stdout).

    Raises:
        ValueError: impossible settings, or an `out` folder that holds something else.
        convscope.datasets.DatasetNotFoundError: the data is not to be found.
    """
    from convscope import distributed, runs

    settings.check()
    if nproc < 1:
        raise ValueError(f"--nproc must be at least 1; got {nproc}.")
    if checkpoint_every is not None and checkpoint_every < 1:
        raise ValueError(f"--checkpoint-every must be at least 1; got {checkpoint_every}.")
    folder = Path(out).expanduser() if resume else runs.prepare_folder(out, overwrite)
    if nproc == 1:
        train_process(settings, folder, resume, checkpoint_every, stream, verbose)
    else:  # spawned processes cannot share a stream; each prints (rank 0 only) to its stdout
        distributed.launch(train_process, nproc, settings, folder, resume, checkpoint_every, None, verbose)
    return folder


def train_process(settings: TrainSettings, folder: Path, resume: bool, checkpoint_every: int | None,
                  stream: TextIO | None, verbose: int | str) -> None:
    """One process's training: every rank trains, rank 0 alone prints and writes files."""
    import os

    from convscope import distributed, runs
    from convscope._atomic import write_json_atomic, write_text_atomic
    from convscope.engine import checkpoint
    from convscope.inference.preprocessing import infer_preprocessing
    from convscope.models.summary import summary_text
    from convscope.utils import set_seed

    main = distributed.is_main()
    stream = (stream or sys.stdout) if main else open(os.devnull, "w")  # noqa: SIM115
    set_seed(settings.seed, deterministic=False)
    data = load_data(settings)
    preprocessing = infer_preprocessing(data.x_train)
    model = build_model(settings.model, preprocessing.shape, len(data.class_names))
    compile_recipe(model, settings)
    config = run_config(settings, folder, data, preprocessing, model)
    summary = summary_text(model)
    checkpointer = checkpoint.Checkpointer(folder / runs.STEP_CHECKPOINTS, every_steps=checkpoint_every)
    recorder = runs.RunRecorder(folder, checkpointer, "val_loss" if settings.validation_split else "loss")
    point = checkpoint.restore_latest(model, folder / runs.STEP_CHECKPOINTS) if resume else None
    initial_epoch = point.epoch if point is not None else 0
    if point is not None:
        recorder.restore(initial_epoch)
        print(f"Resuming {folder} at epoch {initial_epoch + 1}, step {point.step + 1}", file=stream)
    if main:
        write_json_atomic(folder / runs.CONFIG_FILE, config)
        write_text_atomic(folder / runs.SUMMARY_FILE, summary + "\n")
    print(summary, file=stream)
    print(describe_split(data, settings), file=stream, flush=True)
    model.fit(as_inputs(data.x_train, preprocessing.scale), data.y_train, batch_size=settings.batch_size,
              epochs=settings.epochs, validation_split=settings.validation_split, initial_epoch=initial_epoch,
              resume=point, callbacks=[*recipe_callbacks(settings), checkpointer, recorder],
              verbose=verbose if main else 0)
    if main:
        finish_run(folder, model, data, preprocessing, config, recorder, stream)


def run_config(settings: TrainSettings, folder: Path, data: Data, preprocessing: Preprocessing,
               model: Model) -> dict[str, Any]:
    """config.json of a run as training starts: settings, the command, the data, the inputs'
    preprocessing, the model and the environment."""
    import platform

    import torch

    import convscope
    from convscope import runs

    return {
        "format": runs.RUN_FORMAT, "format_version": runs.RUN_FORMAT_VERSION,
        "command": settings.command(folder), "train": asdict(settings),
        "data": {"source": data.source, "class_names": data.class_names,
                 "train_samples": len(data.x_train), "test_samples": len(data.x_test),
                 "sample_shape": list(data.x_train.shape[1:]), "dtype": str(data.x_train.dtype)},
        runs.INPUT_KEY: preprocessing.to_dict(), "model": model.get_config(),
        "environment": {"convscope": convscope.__version__, "torch": torch.__version__,
                        "python": platform.python_version(), "device": str(model.device),
                        "autocast": str(model.compiled.autocast_dtype) if model.compiled else None},
        "status": "training", "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def finish_run(folder: Path, model: Model, data: Data, preprocessing: Preprocessing,
               config: dict[str, Any], recorder: RunRecorder, stream: TextIO) -> None:
    """Evaluate on the test set, save the model, plots and report, and print the result."""
    from convscope import runs
    from convscope._atomic import write_json_atomic

    if model.nonfinite_loss:
        print("warning: the loss became NaN or infinite; try a smaller --lr", file=stream)
    x_test = as_inputs(data.x_test, preprocessing.scale)
    metrics = model.evaluate(x_test, data.y_test, verbose=0, return_dict=True)
    write_json_atomic(folder / runs.METRICS_FILE, {f"test_{k}": float(v) for k, v in metrics.items()}
                      | {"test_samples": len(x_test)})
    model.save(folder / runs.MODEL_DIR)
    write_plots(folder, model, data, x_test, recorder.history)
    config.update(status="finished", finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
                  epochs_done=model.compiled.epochs_done if model.compiled else 0,
                  best_epoch=recorder.best_epoch, test={k: float(v) for k, v in metrics.items()})
    write_json_atomic(folder / runs.CONFIG_FILE, config)
    runs.write_report(folder)
    print(f"Test: loss {metrics['loss']:.4f} - accuracy {metrics.get('accuracy', float('nan')):.4f} "
          f"({len(x_test)} samples)", file=stream)
    print(f"Run saved to {folder} (open {folder / runs.REPORT_FILE})", file=stream, flush=True)
