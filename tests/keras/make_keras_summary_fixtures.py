"""Write the summaries Keras 3 prints with summary()'s arguments, for the tests to read.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_summary_fixtures.py
For each case NAME below it writes tests/keras/fixtures/summary_NAME_summary.txt: the model's
`summary(...)` with the case's arguments, printed wide enough that no cell wraps (COLUMNS=250,
line_length=240), read back by keras_fixture_files.keras_summary.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "250"  # rich sizes the summary table to the console

import keras  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1]))
import keras_twins  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def frozen_seed_cnn(keras: Any) -> Any:
    model = keras_twins.seed_cnn(keras)
    model.layers[2].trainable = False  # conv2d_1
    return model


# name: (builder, summary arguments); the tests build the same models.
CASES: dict[str, tuple[Callable[[Any], Any], dict[str, Any]]] = {
    "trainable": (frozen_seed_cnn, {"show_trainable": True}),
    "range": (keras_twins.seed_cnn, {"layer_range": ["conv2d", "flatten"]}),
    "range_patterns": (keras_twins.seed_cnn, {"layer_range": ["conv2d_1", "dense"]}),
    "range_reversed": (keras_twins.seed_cnn, {"layer_range": ["flatten", "max_pooling2d_1"]}),
    "nested": (keras_twins.seed_classifier, {"expand_nested": True, "show_trainable": True}),
    "nested_range": (keras_twins.seed_classifier, {"expand_nested": True, "layer_range": ["sequential", "head"]}),
    "transfer_nested": (keras_twins.transfer, {"expand_nested": True, "show_trainable": True}),
    "autoencoder_nested": (keras_twins.autoencoder, {"expand_nested": True}),
}


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    for name, (build, arguments) in CASES.items():
        keras.backend.clear_session()  # layer names start again at conv2d, as in a fresh script
        lines: list[str] = []
        build(keras).summary(line_length=240, print_fn=lines.append, **arguments)
        (FIXTURES / f"summary_{name}_summary.txt").write_text("\n".join(lines) + "\n")
        print(name)


if __name__ == "__main__":
    main()
