"""Write the layer names and summaries Keras 3 gives models with wrapped and multi-output layers
(TimeDistributed, Bidirectional, recurrent layers with return_state), for the tests to read.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_naming_fixtures.py
For each case NAME below (a builder of tests/keras_twins.py) it writes, under tests/keras/fixtures/:
    naming_NAME_summary.txt  the model's `summary(...)` with the case's arguments, printed wide
                             enough that no cell wraps (COLUMNS=250, line_length=240), read back
                             by keras_fixture_files.keras_summary
    naming_NAME_default.txt  the same at Keras's default line_length (cells wrap)
    keras_naming.json        {NAME: every layer's path, "outer/inner" for the layers inside a
                             model, a TimeDistributed (its layer) or a Bidirectional (its forward
                             and backward layers)}
Each case starts a fresh session, so names are numbered as in a new script.
"""

from __future__ import annotations

import json
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

# name: (builder, summary arguments); tests/keras/test_keras_naming.py builds the same models.
CASES: dict[str, tuple[Callable[[Any], Any], dict[str, Any]]] = {
    "time_distributed_dense": (keras_twins.time_distributed_dense, {}),
    "bidirectional_lstm_stack": (keras_twins.bidirectional_lstm_stack, {"show_trainable": True}),
    "recurrent_stack": (keras_twins.recurrent_stack, {}),
    "recurrent_states": (keras_twins.recurrent_states, {}),
    "recurrent_encoder": (keras_twins.recurrent_encoder, {"expand_nested": True}),
}


def inner_layers(layer: Any) -> list[Any]:
    """The layers inside `layer`: a model's, a wrapper's layer, Bidirectional's two."""
    if isinstance(layer, keras.layers.Bidirectional):
        return [layer.forward_layer, layer.backward_layer]
    if isinstance(layer, keras.layers.TimeDistributed):
        return [layer.layer]
    return list(getattr(layer, "layers", []))


def layer_paths(layer: Any, prefix: str = "") -> list[str]:
    paths = []
    for inner in inner_layers(layer):
        paths += [prefix + inner.name, *layer_paths(inner, f"{prefix}{inner.name}/")]
    return paths


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    names = {}
    for name, (build, arguments) in CASES.items():
        keras.backend.clear_session()  # layer names start again at dense, as in a fresh script
        model = build(keras)
        names[name] = layer_paths(model)
        lines: list[str] = []
        model.summary(line_length=240, print_fn=lines.append, **arguments)
        (FIXTURES / f"naming_{name}_summary.txt").write_text("\n".join(lines) + "\n")
        lines = []
        model.summary(print_fn=lines.append, **arguments)
        (FIXTURES / f"naming_{name}_default.txt").write_text("\n".join(lines) + "\n")
        print(name, names[name])
    (FIXTURES / "keras_naming.json").write_text(json.dumps(names, indent=1) + "\n")


if __name__ == "__main__":
    main()
