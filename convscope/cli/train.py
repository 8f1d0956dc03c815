"""`convscope train MODEL --data NAME|PATH --out DIR`: train a model and keep a run folder.

MODEL is a built-in name (`convscope summary --list` shows them), a .json/.yaml spec, or a .py
file defining `build_model()`. The run folder is described in `convscope.runs`; its config.json
records the command line that repeats the run.

    convscope train seed-cnn --data fashion_mnist --out runs/fashion
"""

from __future__ import annotations

import argparse
import inspect
import json
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from convscope.cli import CommandError, dataset_not_found

if TYPE_CHECKING:
    import numpy as np

    from convscope.engine.callbacks import Callback
    from convscope.models.sequential import Sequential

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
SCHEDULES = ("one-cycle", "constant")


@dataclass
class TrainSettings:
    """Everything a training run depends on (saved in the run's config.json)."""

    model: str
    data: str
    data_path: str | None = None
    # The default recipe (benchmarks/LEVERS.md, "Default training recipe"): on Fashion-MNIST
    # the seed CNN reaches about 91% test accuracy in 4 epochs with a one-cycle peak of 4e-3 and
    # Adam's second-moment decay at 0.99 (it follows the fast-changing rate more closely than 0.999).
    epochs: int = 4
    batch_size: int = 128
    learning_rate: float = 4e-3
    optimizer: str = "adam"
    beta_2: float = 0.99
    schedule: str = "one-cycle"
    validation_split: float = 0.1
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    limit: int | None = None
    test_limit: int | None = None

    def check(self) -> None:
        """Reject impossible settings before any data is loaded."""
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1; got {getattr(self, name)}.")
        if not self.learning_rate > 0:
            raise ValueError(f"--lr must be positive; got {self.learning_rate}.")
        if not 0 < self.beta_2 < 1:
            raise ValueError(f"--beta-2 must be in (0, 1); got {self.beta_2}.")
        if not 0 <= self.validation_split < 1:
            raise ValueError(f"--validation-split must be in [0, 1); got {self.validation_split}.")
        for name in ("limit", "test_limit"):
            value = getattr(self, name)
            if value is not None and value < 2:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 2; got {value}.")

    def optimizer_config(self) -> dict[str, Any]:
        """The optimizer as `compile` takes it; beta_2 applies to the Adam family only."""
        config: dict[str, Any] = {"learning_rate": self.learning_rate}
        if self.optimizer in ("adam", "adamw"):
            config["beta_2"] = self.beta_2
        return {"class_name": self.optimizer, "config": config}

    def command(self, out: Path) -> str:
        """The `convscope train ...` line that repeats this run."""
        parts = ["convscope", "train", self.model, "--data", self.data]
        for name, value in asdict(self).items():
            if name in ("model", "data") or value == getattr(DEFAULT, name):
                continue
            flag = {"learning_rate": "lr", "data_path": "path"}.get(name, name).replace("_", "-")
            parts += [f"--{flag}", str(value)]
        return shlex.join([*parts, "--out", str(out)])


def register(subparsers: Any) -> None:
    """Add the `train` command."""
    parser = subparsers.add_parser("train", help="train a model and save a run folder",
                                   description="Train a built-in model, a JSON/YAML spec or a Python "
                                               "build_model() on a dataset; save everything to --out.")
    add_arguments(parser)
    parser.add_argument("model", metavar="MODEL", nargs="?",
                        help="built-in model name, a .json/.yaml spec, or a .py file defining build_model()")
    parser.add_argument("--data",
                        help="dataset name (mnist, fashion_mnist, cifar10, digits, mnist1d), an image "
                             "folder (one subfolder per class), or a .npy/.npz/.csv file of signals")
    parser.add_argument("--out", help="run folder (default: runs/<model>-<data>-<time>)")
    parser.add_argument("--resume", metavar="RUN",
                        help="continue an interrupted run from its newest good checkpoint (same settings; "
                             "--epochs then gives the new total)")
    parser.add_argument("--checkpoint-every", type=int, metavar="N",
                        help="also checkpoint every N steps, not only at each epoch's end")
    parser.add_argument("--nproc", type=int, default=1, help="train on N local processes (torch.distributed)")
    parser.set_defaults(func=run)


DEFAULT = TrainSettings(model="", data="")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The training recipe options shared by `train` and `demo`."""
    parser.add_argument("--path", dest="data_path", help="folder holding a named dataset's files")
    parser.add_argument("--epochs", type=int, help=f"passes over the data (default {DEFAULT.epochs})")
    parser.add_argument("--batch-size", type=int, default=DEFAULT.batch_size,
                        help=f"samples per step (default {DEFAULT.batch_size})")
    parser.add_argument("--lr", type=float, default=DEFAULT.learning_rate,
                        help=f"learning rate; the peak rate with --schedule one-cycle (default {DEFAULT.learning_rate})")
    parser.add_argument("--schedule", choices=SCHEDULES, default=DEFAULT.schedule,
                        help="one-cycle: warm up to --lr over the first 30%% of steps, then decay (default); "
                             "constant: --lr throughout, as Keras does")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=DEFAULT.optimizer,
                        help=f"(default {DEFAULT.optimizer})")
    parser.add_argument("--beta-2", type=float, default=DEFAULT.beta_2,
                        help=f"Adam/AdamW second-moment decay (default {DEFAULT.beta_2}; Keras uses 0.999)")
    parser.add_argument("--validation-split", type=float, default=DEFAULT.validation_split,
                        help=f"share of the training data held out for validation (default {DEFAULT.validation_split})")
    parser.add_argument("--seed", type=int, default=DEFAULT.seed,
                        help=f"seed for weights and shuffling (default {DEFAULT.seed})")
    parser.add_argument("--device", default=DEFAULT.device,
                        help=f"auto, cpu, cuda or cuda:N (default {DEFAULT.device})")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default=DEFAULT.precision,
                        help="auto uses bfloat16 only where the hardware supports it natively")
    parser.add_argument("--limit", type=int, help="use only the first N training samples (quick runs)")
    parser.add_argument("--test-limit", type=int, help="use only the first N test samples")
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in --out")


def settings_from_args(args: argparse.Namespace) -> TrainSettings:
    settings = TrainSettings(
        model=args.model, data=args.data, data_path=args.data_path,
        epochs=DEFAULT.epochs if args.epochs is None else args.epochs,
        batch_size=args.batch_size, learning_rate=args.lr, optimizer=args.optimizer, beta_2=args.beta_2,
        schedule=args.schedule,
        validation_split=args.validation_split, seed=args.seed, device=args.device,
        precision=args.precision, limit=args.limit, test_limit=args.test_limit)
    settings.check()
    return settings


def run(args: argparse.Namespace) -> int:
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise ValueError(f"--checkpoint-every must be at least 1; got {args.checkpoint_every}.")
    if args.resume:
        settings, out = resume_settings(args)
        train_run(settings, out, resume=True, nproc=args.nproc, checkpoint_every=args.checkpoint_every)
        return 0
    if not args.model or not args.data:
        raise CommandError("train needs MODEL and --data", hint="e.g. convscope train seed-cnn --data fashion_mnist "
                           "(convscope summary --list shows the built-in models)")
    settings = settings_from_args(args)
    stem = Path(settings.model).stem if settings.model.endswith((".json", ".yaml", ".yml", ".py")) else settings.model
    out = Path(args.out or f"runs/{stem}-{Path(settings.data).stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    train_run(settings, out, overwrite=args.overwrite, nproc=args.nproc, checkpoint_every=args.checkpoint_every)
    return 0


def resume_settings(args: argparse.Namespace) -> tuple[TrainSettings, Path]:
    """The recorded settings of run `args.resume` (with a new --epochs total, if given)."""
    from convscope import runs
    from convscope.models.saving import read_json

    folder = Path(args.resume).expanduser()
    config_file = folder / runs.CONFIG_FILE
    if not config_file.is_file():
        raise FileNotFoundError(f"{folder}: no run to resume (no {runs.CONFIG_FILE}).")
    recorded = read_json(config_file).get("train")
    if not isinstance(recorded, dict):
        raise ValueError(f"{config_file}: not a convscope run config (no 'train' settings).")
    # Runs recorded before beta_2 was a setting trained with Adam's usual 0.999.
    settings = TrainSettings(**{"beta_2": 0.999, **{k: v for k, v in recorded.items()
                                                     if k in TrainSettings.__dataclass_fields__}})
    if args.epochs is not None:
        settings.epochs = args.epochs
    settings.check()
    return settings, folder


# -- data -------------------------------------------------------------------------------------
@dataclass
class Data:
    """Arrays as loaded (uint8 images or float signals) with their class names."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str


def load_data(settings: TrainSettings) -> Data:
    """The dataset named or pointed to by `settings.data`, cut to the limits."""
    from convscope import datasets

    source = Path(settings.data).expanduser()
    if source.is_dir():
        (x, y), (xt, yt) = datasets.image_folder(source)
        names, kind = datasets.class_names(source), "image folder"
    elif source.is_file():
        (x, y), (xt, yt) = datasets.arrays(source)
        names, kind = [], "signals file"
    else:
        try:
            (x, y), (xt, yt) = datasets.load(settings.data, path=settings.data_path)
        except datasets.DatasetNotFoundError as error:
            raise dataset_not_found(settings.data, error) from error
        names, kind = datasets.class_names(settings.data), "dataset"
    x, y = x[:settings.limit], y[:settings.limit]
    xt, yt = xt[:settings.test_limit], yt[:settings.test_limit]
    classes = int(max(y.max(), yt.max())) + 1
    names = list(names) if len(names) == classes else [str(i) for i in range(classes)]
    return Data(x, y, xt, yt, names, f"{kind} {settings.data}")


def as_inputs(x: np.ndarray, scale: float) -> np.ndarray:
    """Raw arrays as float32 model inputs (8-bit images divided by 255)."""
    import numpy as np

    return (x.astype(np.float32) * np.float32(scale)) if scale != 1.0 else x.astype(np.float32)


# -- models -----------------------------------------------------------------------------------
def build_model(source: str, input_shape: Sequence[int] | None, num_classes: int | None) -> Sequential:
    """A model from a zoo name, a .json/.yaml spec or a .py file with `build_model()`."""
    path = Path(source).expanduser()
    if path.suffix.lower() in (".json", ".yaml", ".yml"):
        model = model_from_spec(path, input_shape)
    elif path.suffix.lower() == ".py":
        model = model_from_python(path, input_shape, num_classes)
    else:
        from convscope import zoo

        model = zoo.build(source, input_shape, num_classes)
    if model.input_shape is None and input_shape is not None:
        model.build((None, *input_shape))
    outputs = model.output_shape[-1] if model.output_shape else None
    if num_classes is not None and outputs != num_classes:
        raise ValueError(f"{source}: the model ends with {outputs} outputs but the data has {num_classes} "
                         f"classes. Make the last layer Dense({num_classes}, activation='softmax').")
    return model


def read_spec(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model spec file.")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            document = json.loads(text)
        else:
            import yaml

            document = yaml.safe_load(text)
    except (ValueError, ImportError) as error:  # json and yaml errors are ValueErrors
        raise ValueError(f"{path}: not a readable model spec ({str(error).splitlines()[0]}).") from error
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a model spec must be a mapping with a 'layers' list.")
    return document


def model_from_spec(path: Path, input_shape: Sequence[int] | None) -> Sequential:
    """Spec layers are {"class_name": "Conv2D", "config": {...}} (as model.save writes them),
    {"type": "Conv2D", "filters": 32, ...} or {"Conv2D": {"filters": 32, ...}}."""
    from convscope.models.saving import model_from_config

    document = read_spec(path)
    config = document.get("config", document) if "layers" not in document else document
    if not isinstance(config.get("layers"), list):
        raise ValueError(f"{path}: a model spec needs a 'layers' list, e.g. "
                         "layers: [{Conv2D: {filters: 32, kernel_size: 3, activation: relu}}, ...]")
    entries = [_layer_entry(entry, index, path) for index, entry in enumerate(config["layers"])]
    shape = config.get("input_shape") or (list(input_shape) if input_shape is not None else None)
    return model_from_config({"name": config.get("name") or path.stem, "input_shape": shape, "layers": entries})


def _layer_entry(entry: Any, index: int, path: Path) -> dict[str, Any]:
    if isinstance(entry, dict) and "class_name" in entry:
        return {"class_name": entry["class_name"], "config": dict(entry.get("config") or {})}
    if isinstance(entry, dict) and "type" in entry:
        options = {k: v for k, v in entry.items() if k != "type"}
        return {"class_name": entry["type"], "config": options}
    if isinstance(entry, dict) and len(entry) == 1:
        (kind, options), = entry.items()
        return {"class_name": kind, "config": dict(options or {})}
    raise ValueError(f"{path}: layer {index} should look like {{Conv2D: {{filters: 32, kernel_size: 3}}}}; "
                     f"got {entry!r}.")


def model_from_python(path: Path, input_shape: Sequence[int] | None, num_classes: int | None) -> Sequential:
    """Run `path` as a module and call its build_model() (passing input_shape and num_classes
    when it takes them)."""
    import importlib.util

    from convscope.models.sequential import Sequential

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such Python file.")
    spec = importlib.util.spec_from_file_location(f"convscope_user_model_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    builder = getattr(module, "build_model", None)
    if not callable(builder):
        raise ValueError(f"{path}: defines no build_model() function; add `def build_model(): return Sequential([...])`.")
    accepted = inspect.signature(builder).parameters
    options = {name: value for name, value in (("input_shape", input_shape), ("num_classes", num_classes))
               if name in accepted and value is not None}
    model = builder(**options)
    if not isinstance(model, Sequential):
        raise ValueError(f"{path}: build_model() returned {type(model).__name__}; expected a convscope Sequential.")
    return model


# -- training ---------------------------------------------------------------------------------
def train_run(settings: TrainSettings, out: Path, *, overwrite: bool = False, resume: bool = False,
              nproc: int = 1, checkpoint_every: int | None = None, stream: TextIO | None = None,
              verbose: int | str = "auto") -> Path:
    """Train as `settings` say and write the run folder `out`; returns its path.

    With `resume`, `out` is an existing run: training continues from its newest good checkpoint.
    With `nproc` > 1, `nproc` local processes train together and rank 0 writes the folder.
    """
    from convscope import distributed, runs

    if nproc < 1:
        raise ValueError(f"--nproc must be at least 1; got {nproc}.")
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
    from convscope.engine import checkpoint
    from convscope.utils import set_seed

    main = distributed.is_main()
    stream = (stream or sys.stdout) if main else open(os.devnull, "w")  # noqa: SIM115
    set_seed(settings.seed, deterministic=False)
    data = load_data(settings)
    spec = runs.infer_input_spec(data.x_train)
    model = build_model(settings.model, spec.shape, len(data.class_names))
    compile_recipe(model, settings)
    config = run_config(settings, folder, data, spec, model)
    summary = model_summary(model)
    recorder = runs.RunRecorder(folder, "val_loss" if settings.validation_split else "loss", write=main)
    initial_epoch = 0
    if resume:
        initial_epoch, step = checkpoint.restore_latest(model, folder / runs.STEP_CHECKPOINTS)
        recorder.restore(initial_epoch)
        print(f"Resuming {folder} at epoch {initial_epoch + 1}, step {step + 1}", file=stream)
    if main:
        runs.write_json_atomic(folder / runs.CONFIG_FILE, config)
        runs.write_text_atomic(folder / runs.SUMMARY_FILE, summary + "\n")
    print(summary, file=stream)
    print(describe_split(data, settings), file=stream, flush=True)
    checkpointer = checkpoint.Checkpointer(folder / runs.STEP_CHECKPOINTS, every_steps=checkpoint_every)
    model.fit(as_inputs(data.x_train, spec.scale), data.y_train, batch_size=settings.batch_size,
              epochs=settings.epochs, validation_split=settings.validation_split, initial_epoch=initial_epoch,
              callbacks=[*recipe_callbacks(settings), recorder, checkpointer], verbose=verbose if main else 0)
    if main:
        finish_run(folder, model, data, spec, config, recorder, stream)


def compile_recipe(model: Sequential, settings: TrainSettings) -> None:
    """Compile `model` as the recipe trains it: the settings' optimizer, precision and device,
    sparse cross-entropy on integer labels, accuracy."""
    model.compile(optimizer=settings.optimizer_config(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], precision=settings.precision, device=settings.device)


def recipe_callbacks(settings: TrainSettings) -> list[Callback]:
    """The learning-rate schedule of the recipe, as fit callbacks."""
    from convscope.engine.callbacks import OneCycleLR

    return [OneCycleLR(settings.learning_rate)] if settings.schedule == "one-cycle" else []


def describe_split(data: Data, settings: TrainSettings) -> str:
    held = int(len(data.x_train) * settings.validation_split) if settings.validation_split else 0
    return (f"Training {settings.model} on {data.source}: {len(data.x_train) - held} training, {held} validation, "
            f"{len(data.x_test)} test samples, {len(data.class_names)} classes")


def model_summary(model: Sequential) -> str:
    from convscope.models.summary import summary_text

    return summary_text(model)


def run_config(settings: TrainSettings, folder: Path, data: Data, spec: Any, model: Sequential) -> dict[str, Any]:
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
        "input": spec.to_dict(), "model": model.get_config(),
        "environment": {"convscope": convscope.__version__, "torch": torch.__version__,
                        "python": platform.python_version(), "device": str(model.device),
                        "autocast": str(model.compiled.autocast_dtype) if model.compiled else None},
        "status": "training", "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def finish_run(folder: Path, model: Sequential, data: Data, spec: Any, config: dict[str, Any],
               recorder: Any, stream: TextIO) -> None:
    """Evaluate on the test set, save the model, plots and report, and print the result."""
    from convscope import runs

    if model.nonfinite_loss:
        print("warning: the loss became NaN or infinite; try a smaller --lr", file=stream)
    x_test = as_inputs(data.x_test, spec.scale)
    metrics = model.evaluate(x_test, data.y_test, verbose=0, return_dict=True)
    runs.write_json_atomic(folder / runs.METRICS_FILE, {f"test_{k}": float(v) for k, v in metrics.items()}
                           | {"test_samples": len(x_test)})
    model.save(folder / runs.MODEL_DIR)
    write_plots(folder, model, data, x_test, recorder.history)
    config.update(status="finished", finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
                  epochs_done=model.compiled.epochs_done if model.compiled else 0,
                  best_epoch=recorder.best_epoch, test={k: float(v) for k, v in metrics.items()})
    runs.write_json_atomic(folder / runs.CONFIG_FILE, config)
    runs.write_report(folder)
    print(f"Test: loss {metrics['loss']:.4f} - accuracy {metrics.get('accuracy', float('nan')):.4f} "
          f"({len(x_test)} samples)", file=stream)
    print(f"Run saved to {folder} (open {folder / runs.REPORT_FILE})", file=stream, flush=True)


def write_plots(folder: Path, model: Sequential, data: Data, x_test: np.ndarray,
                history: dict[str, list[float]]) -> None:
    """curves.png, confusion.png and samples.png (or signals) under plots/."""
    from convscope import explain, runs
    from convscope.plots import data as data_plots
    from convscope.plots import interpret as interpret_plots

    plots = folder / runs.PLOTS_DIR
    if history:
        interpret_plots.plot_training_curves(explain.training_curves(history), plots / "curves.png")
    interpretation = explain.interpret(model, x_test, data.y_test, class_names=data.class_names)
    interpret_plots.plot_confusion_matrix(interpretation, plots / "confusion.png")
    if data.x_train.ndim == 4:
        data_plots.plot_samples(data.x_train, data.y_train, class_names=data.class_names,
                                samples_per_class=5, path=plots / "samples.png")
    else:
        data_plots.plot_signals(data.x_train, data.y_train, class_names=data.class_names,
                                path=plots / "samples.png")
