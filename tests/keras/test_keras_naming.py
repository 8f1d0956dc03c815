"""Layer names and summaries of models with wrapped and multi-output layers, against real Keras:
the fixtures (tests/keras/make_keras_naming_fixtures.py) hold the names Keras gives every layer,
the layers inside a TimeDistributed or Bidirectional included, and the tables it prints."""

from __future__ import annotations

import json
from typing import Any

import keras_twins
import pytest
from keras_fixture_files import FIXTURES, keras_summary

from convscope import Model, keras
from convscope.layers import Bidirectional, Layer, Wrapper
from convscope.models.nested import ModelLayer
from convscope.models.summary import summary_data, summary_html, table_cells

KERAS_NAMES = json.loads((FIXTURES / "keras_naming.json").read_text())
# name: summary arguments, as the fixture writer's CASES give them.
CASES: dict[str, dict[str, Any]] = {
    "time_distributed_dense": {},
    "bidirectional_lstm_stack": {"show_trainable": True},
    "recurrent_stack": {},
    "recurrent_states": {},
    "recurrent_encoder": {"expand_nested": True},
}


def inner_layers(layer: Layer) -> list[Layer]:
    if isinstance(layer, Bidirectional):
        return [layer.forward_layer, layer.backward_layer]
    if isinstance(layer, Wrapper):
        return [layer.layer]
    return list(layer.layers) if isinstance(layer, ModelLayer) else []


def layer_paths(layer: Layer, prefix: str = "") -> list[str]:
    paths = []
    for inner in inner_layers(layer):
        paths += [prefix + inner.name, *layer_paths(inner, f"{prefix}{inner.name}/")]
    return paths


def build(case: str) -> Model:
    model = getattr(keras_twins, case)(keras)
    assert isinstance(model, Model)
    return model


@pytest.mark.parametrize("case", CASES)
def test_layers_inside_wrappers_take_names_as_in_keras(case: str) -> None:
    assert layer_paths(build(case)) == KERAS_NAMES[case]


@pytest.mark.parametrize("case", CASES)
def test_summary_rows_and_totals_are_keras(case: str) -> None:
    options = CASES[case]
    model = build(case)
    data = summary_data(model, expand_nested=options.get("expand_nested", False))
    _, cells = table_cells(data, show_details=False, show_macs=False,
                           show_trainable=options.get("show_trainable", False))
    rows, counts = keras_summary(f"naming_{case}")
    assert [[cell.strip() for cell in row] for row in cells] == rows
    assert counts == {"Total params": data["total_params"], "Trainable params": data["trainable_params"],
                      "Non-trainable params": data["non_trainable_params"]}


def keras_shape_lines(name: str) -> list[list[str]]:
    """Each row's "Output Shape" cell in Keras's table, as the lines it wrapped onto."""
    rows: list[list[str]] = []
    current: list[str] | None = None
    for line in (FIXTURES / f"{name}.txt").read_text().splitlines():
        if line.startswith("│"):
            part = line.strip("│").split("│")[1].strip()
            current = [part] if current is None else [*current, part]
        elif line.startswith(("├", "└")) and current is not None:
            rows.append([part for part in current if part])
            current = None
    return rows


def our_shape_lines(text: str) -> list[list[str]]:
    """Each row's "Output Shape" cell in our text table, as the lines it wrapped onto."""
    lines = text.splitlines()
    start, end = lines[2].index("Output Shape"), lines[2].index("Param #")
    rows: list[list[str]] = []
    for line in lines[4:lines.index(lines[3], 4)]:  # between the two "=" rules
        part = line[start:end].strip()
        if line[:start].strip():  # a name (the column fits the widest) starts a row
            rows.append([part])
        elif part:
            rows[-1].append(part)
    return rows


@pytest.mark.parametrize("case", CASES)
def test_long_shapes_wrap_where_keras_wraps_them(case: str) -> None:
    lines: list[str] = []
    build(case).summary(print_fn=lines.append, **CASES[case])
    assert our_shape_lines("\n".join(lines)) == keras_shape_lines(f"naming_{case}_default")


def test_a_layer_returning_several_tensors_lists_their_shapes_and_keeps_its_params() -> None:
    model = build("recurrent_states")
    rows = {row["name"]: row for row in summary_data(model)["rows"]}
    assert rows["lstm"]["output_shapes"] == [[None, 4], [None, 4], [None, 4]]
    assert rows["lstm"]["output_shape"] == [None, 4]  # the first output's, as before
    assert rows["bidirectional"]["output_shapes"] == [[None, 5, 3], [None, 5, 3]]
    assert (rows["lstm"]["params"], rows["bidirectional"]["params"]) == (4 * (3 * 4 + 4 * 4 + 4), 2 * 3 * (3 * 3 + 3 * 3 + 6))
    assert "output_shapes" not in rows["simple_rnn"]
    assert "[(None, 4), (None, 4), (None, 4)]" in summary_html(model)


def test_each_model_numbers_its_own_names() -> None:
    """Keras counts names across the session (a second copy is dense_2, dense_3); convscope per
    model, so the same code gives the same names every time."""
    first, second = build("time_distributed_dense"), build("time_distributed_dense")
    assert layer_paths(first) == layer_paths(second) == KERAS_NAMES["time_distributed_dense"]


def test_names_given_by_the_user_are_kept_and_reserved() -> None:
    layers = keras.layers
    model = keras.Sequential([layers.Input((6, 3)), layers.Bidirectional(layers.LSTM(4, return_sequences=True,
                                                                                     name="encoder")),
                              layers.LSTM(2), layers.Dense(2, name="dense"), layers.Dense(1)])
    assert layer_paths(model) == ["bidirectional", "bidirectional/forward_encoder", "bidirectional/backward_encoder",
                                  "lstm", "dense", "dense_1"]


def test_a_model_made_from_its_config_keeps_every_name_as_written(tmp_path: Any) -> None:
    """Files keep their names, even where automatic naming would not give them: here the
    outer Dense is `dense`, like the wrapped one (what convscope wrote before it counted the
    wrapped layer)."""
    config = build("time_distributed_dense").get_config()
    config["layers"][-1]["config"]["name"] = "dense"
    model = keras.Sequential.from_config(config)
    assert layer_paths(model) == ["time_distributed", "time_distributed/dense", "flatten", "dense"]
    model.save(tmp_path / "model.keras")
    assert layer_paths(keras.models.load_model(tmp_path / "model.keras")) == layer_paths(model)
    states = build("recurrent_states")
    states.save(tmp_path / "states.keras")
    assert layer_paths(keras.models.load_model(tmp_path / "states.keras")) == KERAS_NAMES["recurrent_states"]
