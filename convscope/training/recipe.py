"""The training recipe: every setting a run depends on, and how a model is compiled and
scheduled with them. `convscope train` and `convscope demo` fill `TrainSettings` from their
options; Python code fills it directly.

    >>> settings = TrainSettings(model="seed-cnn", data="fashion_mnist", epochs=2)
    >>> settings.command(Path("runs/fashion"))
    'convscope train seed-cnn --data fashion_mnist --epochs 2 --out runs/fashion'
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convscope.engine.callbacks import Callback
    from convscope.models.model import Model

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
SCHEDULES = ("one-cycle", "constant")
PRECISIONS = ("auto", "float32", "bfloat16")
FLAGS = {"learning_rate": "lr", "data_path": "path"}  # settings whose command-line flag is named otherwise


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
        """Reject impossible settings before any data is loaded (naming the command-line flag).

        Raises:
            ValueError: a count below its minimum, a rate or share out of range.
        """
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{flag(name)} must be at least 1; got {getattr(self, name)}.")
        if not self.learning_rate > 0:
            raise ValueError(f"--lr must be positive; got {self.learning_rate}.")
        if not 0 < self.beta_2 < 1:
            raise ValueError(f"--beta-2 must be in (0, 1); got {self.beta_2}.")
        if not 0 <= self.validation_split < 1:
            raise ValueError(f"--validation-split must be in [0, 1); got {self.validation_split}.")
        for name in ("limit", "test_limit"):
            value = getattr(self, name)
            if value is not None and value < 2:
                raise ValueError(f"--{flag(name)} must be at least 2; got {value}.")

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
            parts += [f"--{flag(name)}", str(value)]
        return shlex.join([*parts, "--out", str(out)])


DEFAULT = TrainSettings(model="", data="")


def recipe_defaults(model: str) -> dict[str, Any]:
    """The settings built-in model `model` trains with unless told otherwise: its zoo entry's
    epochs (residual-cnn needs more passes than the seed CNN's 4 to reach its accuracy); {} for
    a model without its own, a spec or Python file, or an unknown name.

    >>> recipe_defaults("residual-cnn")
    {'epochs': 10}
    """
    from convscope import zoo

    try:
        entry = zoo.lookup(model)
    except ValueError:
        return {}
    return {} if entry.epochs is None else {"epochs": entry.epochs}


def flag(name: str) -> str:
    """The command-line flag of setting `name`, without dashes: "learning_rate" -> "lr"."""
    return FLAGS.get(name, name).replace("_", "-")


def recorded_settings(recorded: dict[str, Any], epochs: int | None = None) -> TrainSettings:
    """The settings a run's config.json recorded under "train" (with a new `epochs` total, if
    given). Runs recorded before beta_2 was a setting trained with Adam's usual 0.999.

    Raises:
        ValueError: recorded settings that `TrainSettings.check` refuses.
    """
    known = {key: value for key, value in recorded.items() if key in TrainSettings.__dataclass_fields__}
    settings = TrainSettings(**{"beta_2": 0.999, **known})
    if epochs is not None:
        settings.epochs = epochs
    settings.check()
    return settings


def compile_recipe(model: Model, settings: TrainSettings) -> None:
    """Compile `model` as the recipe trains it: the settings' optimizer, precision and device,
    sparse cross-entropy on integer labels, accuracy."""
    model.compile(optimizer=settings.optimizer_config(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], precision=settings.precision, device=settings.device)


def recipe_callbacks(settings: TrainSettings) -> list[Callback]:
    """The learning-rate schedule of the recipe, as fit callbacks."""
    from convscope.engine.callbacks import OneCycleLR

    return [OneCycleLR(settings.learning_rate)] if settings.schedule == "one-cycle" else []
