"""Models are rebuilt through the model-class registry: a saved model names its class, loading
looks it up by that name, and every loader returns a model of the class that was saved."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from convscope import Sequential, layers, load_model
from convscope.models import clone_model, model_from_config, model_from_json, registry
from convscope.models.model import Model


def small_model() -> Sequential:
    return Sequential([layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)), layers.Flatten(),
                       layers.Dense(3, activation="softmax")], name="small")


class Tiny(Sequential):
    """A registered Sequential subclass: loading must give a Tiny back, not a Sequential."""


def test_sequential_is_registered_under_its_class_name() -> None:
    assert registry.get("Sequential") is Sequential


def test_unknown_model_class_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown model class 'Functionall'; convscope builds .*Sequential"):
        registry.get("Functionall")
    with pytest.raises(ValueError, match="unknown model class"):
        model_from_config(small_model().get_config(), class_name=["not", "a", "name"])  # type: ignore[arg-type]


def test_saved_folder_names_its_class_and_load_model_uses_it(tmp_path: Path) -> None:
    registry.register(Tiny)
    model = Tiny(small_model().layers)
    model.save(tmp_path / "tiny")
    document = json.loads((tmp_path / "tiny" / "config.json").read_text())
    assert document["class_name"] == "Tiny"
    loaded = load_model(tmp_path / "tiny")
    assert type(loaded) is Tiny
    x = np.random.default_rng(0).random((2, 8, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)


def test_saved_folder_with_an_unknown_class_is_refused(tmp_path: Path) -> None:
    small_model().save(tmp_path / "model")
    config_file = tmp_path / "model" / "config.json"
    document = json.loads(config_file.read_text())
    config_file.write_text(json.dumps({**document, "class_name": "Lambda"}))
    with pytest.raises(ValueError, match="unknown model class 'Lambda'"):
        load_model(tmp_path / "model")


def test_clone_and_json_round_trips_keep_the_architecture() -> None:
    model = small_model()
    for copy in (clone_model(model), model_from_json(model.to_json()), Sequential.from_config(model.get_config())):
        assert type(copy) is Sequential
        assert copy.to_json() == model.to_json()


def test_from_config_checks_the_config_first() -> None:
    with pytest.raises(ValueError, match="at most 10,000"):
        Sequential.from_config({"input_shape": [4], "layers": [{"class_name": "Dense", "config": {"units": 4}}] * 20_000})


def test_model_base_leaves_the_graph_to_subclasses() -> None:
    class NoGraph(Model):
        pass

    with pytest.raises(TypeError, match="abstract .*build.*forward"):
        NoGraph("bare")  # type: ignore[abstract]


def test_sequential_may_start_with_input() -> None:
    model = Sequential([layers.Input((8, 8, 1)), layers.Flatten(), layers.Dense(2)])
    assert model.input_shape == (None, 8, 8, 1) and [layer.name for layer in model.layers] == ["flatten", "dense"]
    assert model_from_config(model.get_config()).output_shape == (None, 2)
