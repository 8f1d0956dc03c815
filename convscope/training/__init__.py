"""The training recipe of `convscope train` as a library: settings, model specs, data, runs.

    recipe.py   `TrainSettings` (the default recipe: Adam, one-cycle rate, batch 128, 4 epochs),
                `compile_recipe`, `recipe_callbacks`
    specs.py    `build_model` from a built-in name, a JSON/YAML spec or a Python `build_model()`
    data.py     `load_data`: a named dataset, an image folder or a signals file, with class names
    runner.py   `train_run`: train and write a run folder (`convscope.runs`); `resume_settings`
    plots.py    `write_plots`: a run's curves, confusion matrix and samples

Train the seed CNN on Fashion-MNIST from Python, as `convscope train seed-cnn --data
fashion_mnist --epochs 1 --out runs/fashion` does:

    >>> from pathlib import Path
    >>> from convscope.training import TrainSettings, train_run
    >>> folder = train_run(TrainSettings(model="seed-cnn", data="fashion_mnist", epochs=1), Path("runs/fashion"))
    >>> (folder / "report.html").is_file()
    True

Or use the recipe on a model and arrays of your own:

    >>> settings = TrainSettings(model="mine", data="mine")
    >>> compile_recipe(model, settings)
    >>> model.fit(x, y, batch_size=settings.batch_size, epochs=settings.epochs,
    ...           callbacks=recipe_callbacks(settings))
"""

from __future__ import annotations

from convscope.training.data import Data, as_inputs, describe_split, load_data
from convscope.training.plots import write_plots
from convscope.training.recipe import (
    DEFAULT,
    OPTIMIZERS,
    PRECISIONS,
    SCHEDULES,
    TrainSettings,
    compile_recipe,
    recipe_callbacks,
    recorded_settings,
)
from convscope.training.runner import (
    default_run_folder,
    finish_run,
    resume_settings,
    run_config,
    train_process,
    train_run,
)
from convscope.training.specs import (
    SPEC_SUFFIXES,
    build_model,
    is_spec_file,
    model_from_python,
    model_from_spec,
    read_spec,
)

__all__ = [
    "DEFAULT", "OPTIMIZERS", "PRECISIONS", "SCHEDULES", "SPEC_SUFFIXES", "Data", "TrainSettings",
    "as_inputs", "build_model", "compile_recipe", "default_run_folder", "describe_split", "finish_run",
    "is_spec_file", "load_data", "model_from_python", "model_from_spec", "read_spec", "recipe_callbacks",
    "recorded_settings", "resume_settings", "run_config", "train_process", "train_run", "write_plots",
]
