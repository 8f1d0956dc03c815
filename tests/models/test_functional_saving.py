"""A functional model's config (Keras's layout), convscope's own saved folders, JSON, clones,
hostile configs refused before allocating, and the summary with its "Connected to" column."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import convscope
from convscope import Model, keras, layers
from convscope.models import Functional, clone_model, load_model, model_from_config, model_from_json

RNG = np.random.default_rng(0)


def residual() -> Functional:
    convscope.set_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    x = layers.Activation("relu")(layers.BatchNormalization()(x))
    y = layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(4, 3, padding="same")(y)
    x = layers.ReLU()(layers.Add()([x, y]))
    x = layers.Concatenate()([layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)])
    return keras.Model(inputs, layers.Dense(3, activation="softmax")(x), name="residual")


def two_headed() -> Functional:
    left, right = keras.Input((5,), name="left"), keras.Input((5,), name="right")
    shared = layers.Dense(4, name="shared")
    joined = layers.concatenate([shared(left), shared(right)])
    return Model([left, right], [layers.Dense(2, name="a")(joined), layers.Dense(1, name="b")(joined)], name="heads")


def test_config_has_keras_functional_layout_and_round_trips() -> None:
    model = residual()
    config = model.get_config()
    assert set(config) == {"name", "trainable", "layers", "input_layers", "output_layers"}
    assert config["input_layers"] == ["input_layer", 0, 0] and config["output_layers"] == ["dense", 0, 0]
    add = next(entry for entry in config["layers"] if entry["class_name"] == "Add")
    (node,) = add["inbound_nodes"]
    assert [tensor["config"]["keras_history"] for tensor in node["args"][0]] == [["activation", 0, 0],
                                                                                  ["conv2d_2", 0, 0]]
    assert json.loads(json.dumps(config)) == config
    clone = Functional.from_config(config)
    assert clone.get_config() == config and clone is not model
    clone.set_weights(model.get_weights())
    x = RNG.normal(size=(4, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(clone.predict(x), model.predict(x), rtol=1e-6)


def test_shared_layers_and_two_outputs_round_trip() -> None:
    model = two_headed()
    config = model.get_config()
    shared = next(entry for entry in config["layers"] if entry["name"] == "shared")
    assert len(shared["inbound_nodes"]) == 2
    assert config["input_layers"] == [["left", 0, 0], ["right", 0, 0]]
    clone = model_from_config(config)
    assert isinstance(clone, Functional) and clone.count_params() == model.count_params() == 24 + 18 + 9
    clone.set_weights(model.get_weights())
    x = [RNG.normal(size=(3, 5)), RNG.normal(size=(3, 5))]
    for mine, theirs in zip(clone.predict(x), model.predict(x)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)


def test_saved_folder_restores_predictions_and_training_state(tmp_path: Path) -> None:
    model = residual()
    x, y = RNG.normal(size=(32, 8, 8, 3)).astype(np.float32), RNG.integers(0, 3, 32)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], precision="float32")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert isinstance(loaded, Functional) and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)
    assert loaded.compiled is not None and loaded.compiled.epochs_done == 1
    after_model, after_loaded = (m.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False).history["loss"]
                                 for m in (model, loaded))
    np.testing.assert_allclose(after_loaded, after_model, rtol=1e-5)  # the optimizer state came back too


def test_weights_files_and_json_and_clones(tmp_path: Path) -> None:
    model = two_headed()
    model.save_weights(tmp_path / "heads.weights.h5")
    model.save_weights(tmp_path / "heads.safetensors")
    text = model.to_json()
    assert json.loads(text)["class_name"] == "Functional"
    for rebuilt in (model_from_json(text), clone_model(model)):
        assert isinstance(rebuilt, Functional) and rebuilt.get_config() == model.get_config()
    x = [RNG.normal(size=(2, 5)), RNG.normal(size=(2, 5))]
    for path in ("heads.weights.h5", "heads.safetensors"):
        fresh = clone_model(model)
        fresh.load_weights(tmp_path / path)
        for mine, theirs in zip(fresh.predict(x), model.predict(x)):
            np.testing.assert_allclose(mine, theirs, rtol=1e-6)


def test_keras_2_node_layout_is_read() -> None:
    config = residual().get_config()
    for entry in config["layers"]:  # tf.keras 2: [[layer, node, tensor, kwargs], ...] per node
        entry["inbound_nodes"] = [[[*tensor["config"]["keras_history"], {}] for tensor in
                                   (node["args"][0] if isinstance(node["args"][0], list) else [node["args"][0]])]
                                  for node in entry["inbound_nodes"]]
    config["input_layers"], config["output_layers"] = [config["input_layers"]], [config["output_layers"]]
    model = model_from_config(config)
    assert isinstance(model, Functional) and model.output_shape == (None, 3)
    assert model.predict(RNG.normal(size=(2, 8, 8, 3))).shape == (2, 3)  # one output, not a list of one


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["layers"][-1]["config"].update(units=2**40), r"Dense 'dense': one sample's output \(None, "
                                                              r"1099511627776\) holds more than"),
    (lambda c: c["layers"][0]["config"].update(batch_shape=[None, 60000, 60000, 3]), "more than the"),
    (lambda c: c["layers"][3]["inbound_nodes"][0]["args"][0]["config"].update(keras_history=["nowhere", 0, 0]),
     "reads layer 'nowhere', which the config does not define"),
    (lambda c: c["layers"][1].update(inbound_nodes=[{"args": [{"class_name": "__keras_tensor__", "config": {
        "keras_history": ["dense", 0, 0]}}], "kwargs": {}}]), "has a loop or nodes nothing feeds"),
    (lambda c: c["layers"][1]["inbound_nodes"][0].update(kwargs={"mask": [1]}), "call arguments"),
    (lambda c: c["layers"].append({"class_name": "Gizmo", "config": {"function": "os.system"}, "name": "x",
                                   "inbound_nodes": []}), "unknown layer type 'Gizmo'"),
    (lambda c: c["layers"].append({"class_name": "Lambda", "config": {"function": "os.system"}, "name": "x",
                                   "inbound_nodes": []}), "Lambda: the function 'os.system' is not known"),
    (lambda c: c.update(output_layers=["conv2d", 7, 0]), "names node 7 of layer 'conv2d'"),
])
def test_hostile_configs_are_refused_before_allocating(change: Callable[[dict[str, Any]], Any], message: str) -> None:
    config = residual().get_config()
    change(config)
    with pytest.raises(ValueError, match=message):
        model_from_config(config)


def test_a_config_asking_for_too_many_weights_is_refused() -> None:
    inputs = keras.Input((1000,))
    config = Model(inputs, layers.Dense(3)(inputs)).get_config()
    config["layers"][1]["config"]["units"] = 3_000_000  # 3 billion weights, built on the meta device only
    with pytest.raises(ValueError, match="more than 2,000,000,000 weights by Dense 'dense'; refusing to allocate it"):
        model_from_config(config)


def test_a_config_with_mismatched_weights_file_is_refused(tmp_path: Path) -> None:
    model = residual()
    model.save(tmp_path / "model")
    document = json.loads((tmp_path / "model" / "config.json").read_text())
    document["config"]["layers"][-1]["config"]["units"] = 2
    (tmp_path / "model" / "config.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"Dense 'dense' kernel: the config asks for shape \(8, 2\); the file holds "
                                         r"\(8, 3\)"):
        load_model(tmp_path / "model")


def test_an_older_sequential_config_with_an_input_entry_loads(tmp_path: Path) -> None:
    """convscope's configs once listed the input as a layer of class "Input"."""
    model = convscope.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(3)])
    model.save(tmp_path / "model")
    document = json.loads((tmp_path / "model" / "config.json").read_text())
    shape = document["config"].pop("input_shape")
    document["config"]["layers"].insert(0, {"class_name": "Input", "config": {
        "name": "input", "trainable": True, "shape": shape, "batch_size": None}})
    (tmp_path / "model" / "config.json").write_text(json.dumps(document))
    loaded = load_model(tmp_path / "model")
    assert loaded.input_shape == (None, 6, 6, 1) and [layer.name for layer in loaded.layers] == [
        "conv2d", "flatten", "dense"]
    x = RNG.normal(size=(2, 6, 6, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)


def captured(model: Model, **options: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lines.append, **options)
    return "\n".join(lines)


def test_summary_of_a_residual_model_matches_golden_file(golden: Callable[[str, str], None]) -> None:
    golden("residual_summary.txt", captured(residual()))


def test_summary_of_a_two_headed_model_matches_golden_file(golden: Callable[[str, str], None]) -> None:
    text = captured(two_headed())
    assert " shared (Dense)               (None, 4)                 24        left[0][0], right[0][0]" in text
    golden("two_headed_summary.txt", text)


def test_summary_of_a_chain_has_no_connected_to_column() -> None:
    inputs = keras.Input((4,))
    text = captured(Model(inputs, layers.Dense(2)(layers.Dense(3)(inputs))))
    assert "Connected to" not in text and " input_layer (InputLayer)" in text
    data = residual().summary_data()
    assert data["rows"][0]["connected_to"] == "-" and data["rows"][-1]["connected_to"] == "concatenate[0][0]"
    html = residual()._repr_html_()
    assert "<th>Connected to</th>" in html and "activation[0][0], conv2d_2[0][0]" in html
