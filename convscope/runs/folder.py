"""Run folders: everything one training produced, in files that outlive the process.

    RUN/
      config.json          what was asked (model, data, recipe, seed, device, command line),
                           what the data looked like (shapes, classes, input preprocessing) and
                           the outcome; enough to repeat the run with `convscope train`
      history.csv          one row per epoch
      model/               the final model: config.json + model.safetensors (+ optimizer)
      checkpoints/last/    the model after the latest epoch
      checkpoints/best/    the model at the epoch with the best monitored value
      checkpoints/resume/  the engine's verified checkpoints, which `convscope train --resume` reads
      summary.txt          the layer table
      metrics.json         test loss and accuracy
      plots/               curves.png, confusion.png, samples.png
      report.html          one self-contained page with all of the above (opens offline)

Every file is written to a temporary name and renamed into place (`convscope._atomic`), so a
run folder never holds a half-written file, even when training is interrupted.

    >>> run = resolve_model("runs/fashion")        # or a saved model, a Keras file, a built-in name
    >>> run.description
    'run folder runs/fashion (final model)'
    >>> model = run.load_model()
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from convscope._atomic import write_json_atomic, write_text_atomic
from convscope.inference.preprocessing import Preprocessing

if TYPE_CHECKING:
    from convscope.models.sequential import Sequential

RUN_FORMAT = "convscope.run"
RUN_FORMAT_VERSION = 1
CONFIG_FILE, HISTORY_FILE, SUMMARY_FILE = "config.json", "history.csv", "summary.txt"
METRICS_FILE, REPORT_FILE, MODEL_DIR, PLOTS_DIR = "metrics.json", "report.html", "model", "plots"
LAST_CHECKPOINT, BEST_CHECKPOINT = "checkpoints/last", "checkpoints/best"
STEP_CHECKPOINTS = "checkpoints/resume"  # convscope.engine.checkpoint's hashed checkpoints, for --resume
INPUT_KEY = "input"  # config.json's entry for the `Preprocessing` (the key name is the file format)


# -- reading a run ------------------------------------------------------------------------------
MODEL_FORMAT = "convscope.model"      # a folder written by model.save(...)
BUILTIN_FORMAT = "convscope.builtin"  # a zoo model by name, untrained
KERAS_FORMAT = "keras.file"          # a .keras or .h5 file written by Keras (or by model.save)
CHECKPOINTS_DIR = "checkpoints"


@dataclass
class Run:
    """A model a command was pointed at, with what is known of its training data.

    Three kinds (`kind`): a run folder written by `convscope train` (its final model, or a
    checkpoint of it), a bare folder written by `model.save(...)` (read with default input
    settings), or a built-in zoo model by name (untrained). `resolve_model` picks the kind.

    Attributes:
        path: the run folder, the saved-model folder, or the built-in name as a path.
        config: the run's config.json (or a stand-in with "format" and "input", the preprocessing).
        model_dir: the saved-model folder whose weights `load_model` reads (None for built-ins).
        weights: which of the run's models that is: "final model", "checkpoint best", ...
    """

    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    model_dir: Path | None = None
    weights: str = ""

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Run:
        """Open RUN (a folder written by `convscope train`, or its model/ or checkpoints/NAME
        folder) or a folder written by `model.save` (or holding one as model/).

        Raises:
            FileNotFoundError: no such folder, or no model in it.
            ValueError: a config that is neither a convscope run nor a saved model.
        """
        from convscope.models.saving import read_json

        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such run folder. Train one with "
                                    f"`convscope train seed-cnn --data fashion_mnist --out {folder}`.")
        config_file = folder / CONFIG_FILE
        if not config_file.is_file():
            if (folder / MODEL_DIR / CONFIG_FILE).is_file():  # model.save("DIR/model") with no run around it
                return cls.open(folder / MODEL_DIR)
            raise FileNotFoundError(f"{folder}: no saved model here (no {CONFIG_FILE}, nor {MODEL_DIR}/"
                                    f"{CONFIG_FILE}); pass the folder `convscope train --out DIR` wrote, or "
                                    "one written by model.save(...).")
        document = read_json(config_file)
        if document.get("format") == MODEL_FORMAT:
            return _inside_run(folder) or _saved_model(folder, document)
        if document.get("format") != RUN_FORMAT:
            raise ValueError(f"{config_file}: not a convscope run or saved model "
                             f"(format {document.get('format')!r}).")
        model_dir, weights = _run_weights(folder, document)
        return cls(folder, document, model_dir, weights)

    @classmethod
    def builtin(cls, name: str, input_shape: Sequence[int] | None = None,
                num_classes: int | None = None) -> Run:
        """Built-in model `name` (see `convscope.zoo`), untrained, for `input_shape` and `num_classes`."""
        from convscope import zoo

        entry = zoo.lookup(name)
        shape = tuple(int(n) for n in (input_shape or entry.input_shape))
        config = {"format": BUILTIN_FORMAT, "name": entry.name, INPUT_KEY: Preprocessing.for_shape(shape).to_dict(),
                  "classes": num_classes}
        return cls(Path(entry.name), config, None, "untrained: random weights")

    @property
    def kind(self) -> str:
        """"run folder", "saved model" or "built-in model"."""
        return {RUN_FORMAT: "run folder", BUILTIN_FORMAT: "built-in model", KERAS_FORMAT: "Keras file"}.get(
            self.config.get("format", ""), "saved model")

    @property
    def description(self) -> str:
        """Which model this is, for a command to print, e.g. "run folder runs/x (final model)"."""
        where = self.config["name"] if self.kind == "built-in model" else str(self.path)
        return f"{self.kind} {where}" + (f" ({self.weights})" if self.weights else "")

    @property
    def model_path(self) -> Path:
        assert self.model_dir is not None, "a built-in model has no saved folder"
        return self.model_dir

    @property
    def preprocessing(self) -> Preprocessing:
        """How inputs are prepared for this model (the run's record, or defaults for its shape)."""
        return Preprocessing.from_dict(self.config[INPUT_KEY])

    def class_names(self, classes: int) -> list[str]:
        names = list(self.config.get("data", {}).get("class_names") or [])
        return names if len(names) == classes else [str(i) for i in range(classes)]

    @property
    def name(self) -> str:
        return self.config["name"] if self.kind == "built-in model" else self.path.resolve().name

    def load_model(self, device: str | None = None, compile: bool = False) -> Sequential:
        """The model; uncompiled by default, so inference runs in float32."""
        if self.kind == "built-in model":
            from convscope import zoo

            model = cast("Sequential", zoo.build(self.config["name"], self.preprocessing.shape, self.config.get("classes")))
            if device is not None:
                model.to_device(device)
        else:
            from convscope.models.saving import load_model

            model = cast("Sequential", load_model(self.model_path, compile=compile, device=device))  # runs hold Sequential models
        model.eval()
        return model

    def metrics(self) -> dict[str, Any]:
        file = self.path / METRICS_FILE
        return json.loads(file.read_text()) if self.kind == "run folder" and file.is_file() else {}


def resolve_model(source: str | os.PathLike[str], *, input_shape: Sequence[int] | None = None,
                  num_classes: int | None = None) -> Run:
    """The model named by `source`, as every command that takes a model reads it.

    An existing folder comes first: a run folder from `convscope train` (its model/, or its best
    checkpoint when training did not finish), a model/ or checkpoints/NAME folder inside one (read
    with the run's input settings and class names), or any folder written by `model.save`.
    A Keras .keras or .h5 file is read with default input settings (kind "Keras file").
    Otherwise `source` must be a built-in model name (`input_shape` and `num_classes` then
    size it). `Run.description` says which was used.

    Raises:
        FileNotFoundError: no such folder and no built-in model of that name.
        ValueError: a file that is not a readable Keras model file, or a folder that holds no
            convscope model.

    Example:
        >>> resolve_model("runs/mnist").description
        'run folder runs/mnist (final model)'
    """
    from convscope import zoo
    from convscope.models import keras_files

    folder = Path(source).expanduser()
    if folder.is_dir():
        return Run.open(folder)
    known = ", ".join(zoo.names())
    if folder.is_file() and keras_files.is_keras_file(folder):
        config, _ = keras_files.read_keras_config(folder)
        preprocessing = Preprocessing.for_shape(tuple(config.get("input_shape") or []))
        return Run(folder, {"format": KERAS_FORMAT, INPUT_KEY: preprocessing.to_dict()}, folder, "")
    if folder.exists():
        raise ValueError(f"{source}: a file, not a model. Pass a run folder from `convscope train`, a "
                         f"folder written by model.save(...), a Keras .keras or .h5 file, or a built-in "
                         f"model name ({known}).")
    try:
        return Run.builtin(str(source), input_shape, num_classes)
    except ValueError as error:
        if not str(error).startswith("unknown model"):
            raise
    raise FileNotFoundError(f"{source}: no saved model here (no such folder) and no built-in model of that "
                            f"name. Pass a run folder from `convscope train`, a folder written by "
                            f"model.save(...), or one of: {known}.")


def _run_weights(folder: Path, document: Mapping[str, Any]) -> tuple[Path, str]:
    """The model of run `folder`: model/ when training finished, else its best (or last) checkpoint."""
    if (folder / MODEL_DIR / CONFIG_FILE).is_file():
        return folder / MODEL_DIR, "final model"
    for checkpoint in (BEST_CHECKPOINT, LAST_CHECKPOINT):
        if (folder / checkpoint / CONFIG_FILE).is_file():
            name = checkpoint.split("/")[-1]
            return folder / checkpoint, f"checkpoint {name}; training did not finish"
    raise FileNotFoundError(f"{folder}: the run has no model/ and no checkpoint yet (status "
                            f"{document.get('status', 'unknown')!r}); train again.")


def _inside_run(folder: Path) -> Run | None:
    """`folder` as the model/ or checkpoints/NAME folder of a run, with that run's settings."""
    for run_folder, weights in ((folder.parent, "final model"),
                                (folder.parent.parent, f"checkpoint {folder.name}")):
        config_file = run_folder / CONFIG_FILE
        expected = run_folder / (MODEL_DIR if weights == "final model" else f"{CHECKPOINTS_DIR}/{folder.name}")
        if expected.resolve() != folder.resolve() or not config_file.is_file():
            continue
        try:
            document = json.loads(config_file.read_text())
        except (OSError, ValueError):
            return None
        if document.get("format") == RUN_FORMAT and INPUT_KEY in document:
            return Run(run_folder, document, folder, weights)
    return None


def _saved_model(folder: Path, document: Mapping[str, Any]) -> Run:
    shape = document.get("config", {}).get("input_shape") or []
    preprocessing = Preprocessing.for_shape(tuple(shape))
    return Run(folder, {"format": MODEL_FORMAT, INPUT_KEY: preprocessing.to_dict()}, folder, "")


# -- writing a run ------------------------------------------------------------------------------
def prepare_folder(path: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Create the run folder; refuse to mix a new run into a non-empty folder unless told to."""
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out {folder}: exists and is not a folder.")
    if folder.is_dir() and any(folder.iterdir()):
        if not overwrite:
            raise ValueError(f"--out {folder}: the folder is not empty. Choose a new folder, or pass "
                             "--overwrite to replace the run in it.")
        if not (folder / CONFIG_FILE).is_file():
            raise ValueError(f"--out {folder}: holds files that are not a convscope run; refusing to replace them.")
        shutil.rmtree(folder)
    (folder / PLOTS_DIR).mkdir(parents=True, exist_ok=True)
    return folder


def write_history(path: Path, history: Mapping[str, list[float]]) -> None:
    """history.csv: epoch (1-based), then each logged value, one row per epoch."""
    keys = list(history)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["epoch", *keys])
    for row in range(max((len(v) for v in history.values()), default=0)):
        writer.writerow([row + 1, *(f"{history[k][row]:.6g}" if row < len(history[k]) else "" for k in keys)])
    write_text_atomic(path / HISTORY_FILE, buffer.getvalue())


def read_history(path: Path) -> dict[str, list[float]]:
    file = path / HISTORY_FILE
    if not file.is_file():
        return {}
    with open(file, newline="") as handle:
        rows = list(csv.DictReader(handle))
    keys = [k for k in (rows[0] if rows else {}) if k != "epoch"]
    return {k: [float(r[k]) if r[k] else math.nan for r in rows] for k in keys}


def save_model_run(model: Sequential, folder: str | os.PathLike[str], *, preprocessing: Preprocessing,
                   class_names: list[str] | None = None, metrics: Mapping[str, float] | None = None,
                   source: str = "python") -> Path:
    """Make a run folder from a model trained elsewhere (a notebook, a script), so that
    `convscope serve`, `predict` and `evaluate --data` can use it.

    Raises:
        ValueError: when `preprocessing.shape` is not the model's input shape.
    """
    model_input_shape = model.require_built("save_model_run")
    if tuple(model_input_shape[1:]) != tuple(preprocessing.shape):
        raise ValueError(f"save_model_run: preprocessing.shape {preprocessing.shape} is not the model's input "
                         f"{tuple(model_input_shape[1:])}.")
    target = prepare_folder(folder)
    model.save(target / MODEL_DIR)
    write_json_atomic(target / CONFIG_FILE, {
        "format": RUN_FORMAT, "format_version": RUN_FORMAT_VERSION, "status": "finished",
        "data": {"source": source, "class_names": list(class_names or [])},
        INPUT_KEY: preprocessing.to_dict(), "model": model.get_config()})
    if metrics:
        write_json_atomic(target / METRICS_FILE, dict(metrics))
    return target
