"""Run folders: everything one training produced, in files that outlive the process.

    RUN/
      config.json          what was asked (model, data, recipe, seed, device, command line),
                           what the data looked like (shapes, classes, input preprocessing) and
                           the outcome; enough to repeat the run with `convscope train`
      history.csv          one row per epoch
      model/               the final model: config.json + model.safetensors (+ optimizer)
      checkpoints/last/    the model after the latest epoch
      checkpoints/best/    the model at the epoch with the best monitored value
      summary.txt          the layer table
      metrics.json         test loss and accuracy
      plots/               curves.png, confusion.png, samples.png
      report.html          one self-contained page with all of the above (opens offline)

Every file is written to a temporary name and renamed into place, so a run folder never holds
a half-written file, even when training is interrupted.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from convscope._atomic import atomic_path
from convscope.engine.callbacks import Callback

if TYPE_CHECKING:
    from convscope.models.sequential import Sequential

RUN_FORMAT = "convscope.run"
RUN_FORMAT_VERSION = 1
CONFIG_FILE, HISTORY_FILE, SUMMARY_FILE = "config.json", "history.csv", "summary.txt"
METRICS_FILE, REPORT_FILE, MODEL_DIR, PLOTS_DIR = "metrics.json", "report.html", "model", "plots"
LAST_CHECKPOINT, BEST_CHECKPOINT = "checkpoints/last", "checkpoints/best"
STEP_CHECKPOINTS = "checkpoints/resume"  # convscope.engine.checkpoint's hashed checkpoints, for --resume


# -- atomic writes ---------------------------------------------------------------------------
def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], document: Any) -> Path:
    return write_text_atomic(path, json.dumps(document, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (np.ndarray, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# -- input preprocessing ------------------------------------------------------------------------
@dataclass(frozen=True)
class InputSpec:
    """How raw inputs become what the model was trained on.

    Attributes:
        shape: one example, channels-last, e.g. (28, 28, 1) or (40, 1).
        scale: raw values are multiplied by it (1/255 for 8-bit images, 1.0 for signals).
        background: "dark" or "light" for images with a plain background, else "mixed".
        fit: "center" (crop to the drawing, scale it into a `box`-pixel square and centre it by
            its centre of mass, as MNIST was prepared) or "resize" (the whole image).
        box: the side of that square, in pixels.
    """

    shape: tuple[int, ...]
    scale: float = 1 / 255
    background: str = "dark"
    fit: str = "center"
    box: int = 20

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    def to_dict(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "scale": self.scale, "background": self.background,
                "fit": self.fit, "box": self.box}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputSpec:
        return cls(tuple(int(n) for n in data["shape"]), float(data.get("scale", 1 / 255)),
                   str(data.get("background", "dark")), str(data.get("fit", "center")),
                   int(data.get("box", 20)))


def input_scale(x: np.ndarray) -> float:
    """What raw values are multiplied by: 1/255 for integers (8-bit pixels), 1.0 for floats."""
    return 1 / 255 if np.issubdtype(x.dtype, np.integer) else 1.0


def infer_input_spec(x: np.ndarray, sample: int = 500) -> InputSpec:
    """Read the preprocessing from training data (N, H, W, C) or (N, L, C).

    Images whose borders are nearly all one dark (or light) value get fit="center" with `box`
    the median extent of their content: about 20 for MNIST digits, 28 for Fashion-MNIST.
    """
    scale = input_scale(x)
    shape = tuple(int(n) for n in x.shape[1:])
    if x.ndim != 4 or len(x) == 0:
        return InputSpec(shape, scale, "mixed", "resize", 0)
    images = x[:sample].astype(np.float64) * scale
    gray = images.mean(axis=-1)                                 # (n, H, W)
    high = max(float(gray.max()), 1e-9)
    border = np.concatenate([gray[:, 0], gray[:, -1], gray[:, :, 0], gray[:, :, -1]], axis=1)
    dark, light = np.mean(border < 0.1 * high), np.mean(border > 0.9 * high)
    if max(dark, light) < 0.7:
        return InputSpec(shape, scale, "mixed", "resize", 0)
    background = "dark" if dark >= light else "light"
    if max(dark, light) < 0.9:  # the content reaches the borders (Fashion-MNIST): keep the framing
        return InputSpec(shape, scale, background, "resize", 0)
    content = gray > 0.2 * high if background == "dark" else gray < 0.8 * high
    extents = [_extent(mask) for mask in content if mask.any()]
    box = int(np.median(extents)) if extents else min(shape[:2])
    return InputSpec(shape, scale, background, "center", max(1, min(box, min(shape[:2]))))


def _extent(mask: np.ndarray) -> int:
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1)


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
        config: the run's config.json (or a stand-in with "format" and "input").
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
        spec = InputSpec(shape) if len(shape) == 3 else InputSpec(shape, 1.0, "mixed", "resize", 0)
        config = {"format": BUILTIN_FORMAT, "name": entry.name, "input": spec.to_dict(),
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
    def input_spec(self) -> InputSpec:
        return InputSpec.from_dict(self.config["input"])

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

            model = zoo.build(self.config["name"], self.input_spec.shape, self.config.get("classes"))
            if device is not None:
                model.to_device(device)
        else:
            from convscope.models.saving import load_model

            model = load_model(self.model_path, compile=compile, device=device)
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
        spec = InputSpec(tuple(config.get("input_shape") or []))
        return Run(folder, {"format": KERAS_FORMAT, "input": spec.to_dict()}, folder, "")
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
        if document.get("format") == RUN_FORMAT and "input" in document:
            return Run(run_folder, document, folder, weights)
    return None


def _saved_model(folder: Path, document: Mapping[str, Any]) -> Run:
    shape = document.get("config", {}).get("input_shape") or []
    return Run(folder, {"format": MODEL_FORMAT, "input": InputSpec(tuple(shape)).to_dict()}, folder, "")


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


class RunRecorder(Callback):
    """After each epoch: rewrite history.csv, save checkpoints/last and, when `monitor`
    improved, checkpoints/best."""

    def __init__(self, folder: Path, monitor: str = "val_loss", write: bool = True) -> None:
        self.folder, self.monitor, self.write = folder, monitor, write
        self.history: dict[str, list[float]] = {}
        self.best: float | None = None
        self.best_epoch: int | None = None

    def restore(self, epochs: int) -> None:
        """Take over the first `epochs` rows of history.csv (resuming a run)."""
        self.history = {key: values[:epochs] for key, values in read_history(self.folder).items()}
        series = self.history.get(self.monitor) or self.history.get("loss") or []
        finite = [(value, index) for index, value in enumerate(series) if math.isfinite(value)]
        if finite:
            self.best, index = min(finite)
            self.best_epoch = index + 1

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = dict(logs or {})
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        current = logs.get(self.monitor, logs.get("loss"))
        improved = False
        if current is not None and math.isfinite(current) and (self.best is None or current < self.best):
            self.best, self.best_epoch, improved = float(current), epoch + 1, True
        if not self.write:
            return
        write_history(self.folder, self.history)
        self.model.save(self.folder / LAST_CHECKPOINT)
        if improved:
            self.model.save(self.folder / BEST_CHECKPOINT)


# -- report -------------------------------------------------------------------------------------
def _image_tag(file: Path, alt: str) -> str:
    if not file.is_file():
        return ""
    encoded = base64.b64encode(file.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}"><figcaption>' \
           f"{html.escape(alt)}</figcaption></figure>"


def _table(rows: list[list[str]], head: list[str]) -> str:
    header = "".join(f"<th>{html.escape(cell)}</th>" for cell in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


REPORT_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:right}
th{background:#f4f4f4}pre{background:#f7f7f7;padding:.8rem;overflow:auto;font-size:.85rem}
figure{display:inline-block;margin:.5rem}img{max-width:100%}figcaption{font-size:.8rem;color:#666}
.big{font-size:1.3rem;font-weight:600}"""


def _test_heading(metrics: Mapping[str, Any]) -> str:
    """The test result in words, e.g. "Test set: loss 0.12, accuracy 97.1% (10,000 examples)"."""
    parts = []
    for key, value in metrics.items():
        if not isinstance(value, float) or key == "test_samples":
            continue
        name = key.removeprefix("test_").replace("_", " ")
        parts.append(f"{name} {value:.1%}" if "accuracy" in name else f"{name} {value:.3g}")
    if not parts:
        return "Test set: not evaluated"
    samples = metrics.get("test_samples")
    counted = f" ({samples:,} examples)" if isinstance(samples, int) else ""
    return f"Test set: {', '.join(parts)}{counted}"


def _history_heading(key: str) -> str:
    """A history.csv column in words: "val_loss" -> "validation loss"."""
    split, name = ("validation", key[4:]) if key.startswith("val_") else ("training", key)
    name = name.replace("_", " ")
    return name if name in ("learning rate", "lr") else f"{split} {name}"


def _history_cell(key: str, value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.1%}" if "accuracy" in key else f"{value:.4g}"


def _epochs_note(history: Mapping[str, list[float]]) -> str:
    epochs = max((len(v) for v in history.values()), default=0)
    if epochs == 1:
        return ("<p>Trained for 1 epoch: each curve is a single point. Train with more epochs "
                "to see how loss and accuracy change.</p>")
    return f"<p>Trained for {epochs} epochs.</p>" if epochs else "<p>No epochs recorded.</p>"


def write_report(folder: Path) -> Path:
    """report.html: config, summary, test metrics, history and plots in one offline page."""
    config = json.loads((folder / CONFIG_FILE).read_text())
    metrics = json.loads((folder / METRICS_FILE).read_text()) if (folder / METRICS_FILE).is_file() else {}
    history = read_history(folder)
    summary = (folder / SUMMARY_FILE).read_text() if (folder / SUMMARY_FILE).is_file() else ""
    train = config.get("train", {})
    title = f"{train.get('model', 'model')} on {train.get('data', 'data')}"
    history_rows = [[str(i + 1), *(_history_cell(k, history[k][i]) if i < len(history[k]) else "-"
                                   for k in history)]
                    for i in range(max((len(v) for v in history.values()), default=0))]
    metric_rows = [[key, f"{value:.4f}" if isinstance(value, float) else str(value)] for key, value in metrics.items()]
    plots = "".join(_image_tag(folder / PLOTS_DIR / f"{stem}.png", caption) for stem, caption in (
        ("curves", "training curves: loss and accuracy per epoch, training and validation sets"),
        ("confusion", "confusion matrix on the test set: actual class down, predicted class across"),
        ("samples", "training samples per class")))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>convscope run: {html.escape(title)}</title>
<style>{REPORT_STYLE}</style></head><body>
<h1>convscope run: {html.escape(title)}</h1>
<p class="big">{html.escape(_test_heading(metrics))}</p>
{_epochs_note(history)}
<h2>Plots</h2>{plots}
<h2>History</h2>{_table(history_rows, ['epoch', *(_history_heading(k) for k in history)])}
<h2>Test metrics</h2>{_table(metric_rows, ['metrics.json key', 'value']) if metric_rows else '<p>none</p>'}
<h2>Model</h2><pre>{html.escape(summary)}</pre>
<h2>Configuration</h2><pre>{html.escape(json.dumps(config, indent=2))}</pre>
<p>Repeat this run with: <code>{html.escape(config.get('command', ''))}</code></p>
</body></html>
"""
    return write_text_atomic(folder / REPORT_FILE, page)


def save_model_run(model: Sequential, folder: str | os.PathLike[str], *, input_spec: InputSpec,
                   class_names: list[str] | None = None, metrics: Mapping[str, float] | None = None,
                   source: str = "python") -> Path:
    """Make a run folder from a model trained elsewhere (a notebook, a script), so that
    `convscope serve`, `predict` and `evaluate --data` can use it.

    Raises:
        ValueError: when `input_spec.shape` is not the model's input shape.
    """
    model_input_shape = model.require_built("save_model_run")
    if tuple(model_input_shape[1:]) != tuple(input_spec.shape):
        raise ValueError(f"save_model_run: input_spec.shape {input_spec.shape} is not the model's input "
                         f"{tuple(model_input_shape[1:])}.")
    target = prepare_folder(folder)
    model.save(target / MODEL_DIR)
    write_json_atomic(target / CONFIG_FILE, {
        "format": RUN_FORMAT, "format_version": RUN_FORMAT_VERSION, "status": "finished",
        "data": {"source": source, "class_names": list(class_names or [])},
        "input": input_spec.to_dict(), "model": model.get_config()})
    if metrics:
        write_json_atomic(target / METRICS_FILE, dict(metrics))
    return target
