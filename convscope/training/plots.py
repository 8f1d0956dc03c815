"""The pictures of a finished run, under RUN/plots/: training curves, the test set's confusion
matrix, and training samples per class (or signals).

    >>> write_plots(Path("runs/fashion"), model, data, x_test, recorder.history)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from convscope.models.model import Model
    from convscope.training.data import Data


def write_plots(folder: Path, model: Model, data: Data, x_test: np.ndarray,
                history: dict[str, list[float]]) -> None:
    """curves.png (when there is a history), confusion.png and samples.png under plots/.

    `x_test` is the test set as model inputs (scaled), `data` the arrays as loaded.
    """
    from convscope import explain
    from convscope.plots import data as data_plots
    from convscope.plots import interpret as interpret_plots
    from convscope.runs import PLOTS_DIR

    plots = folder / PLOTS_DIR
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
