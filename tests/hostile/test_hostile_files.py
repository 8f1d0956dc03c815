"""Model files from strangers: never unpickled, unknown layers and absurd sizes refused before
anything is allocated, damaged files reported as ValueError."""

from __future__ import annotations

import builtins
import json
import pickle
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import convscope
from convscope import Sequential, layers, load_model, zoo
from convscope.models.config import MAX_PARAMS
from convscope.models.saving import model_from_config


def saved_model(folder: Path) -> Path:
    model = Sequential([layers.Conv2D(4, 3, input_shape=(8, 8, 1)), layers.Flatten(), layers.Dense(2)])
    model.compile("adam", "sparse_categorical_crossentropy", precision="float32", device="cpu")
    model.fit(np.zeros((4, 8, 8, 1), np.float32), np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    model.save(folder / "model")
    return folder / "model"


def rewrite_config(path: Path, change: dict) -> None:
    document = json.loads((path / "config.json").read_text())
    document["config"].update(change)
    (path / "config.json").write_text(json.dumps(document))


def watch_allocations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The shapes of every real (not meta-device) tensor torch.empty makes from now on."""
    allocations: list[tuple[int, ...]] = []
    real_empty = torch.empty

    def watched_empty(*size: object, **kwargs: object) -> torch.Tensor:
        tensor = real_empty(*size, **kwargs)
        if tensor.device.type != "meta":
            allocations.append(tuple(tensor.shape))
        return tensor

    monkeypatch.setattr(torch, "empty", watched_empty)
    return allocations


def test_loading_never_unpickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = saved_model(tmp_path)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("loading a model must not unpickle")

    for target, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")):
        monkeypatch.setattr(target, name, refuse)
    model = load_model(path)
    assert model.compiled is not None and len(model.get_weights()) == 4
    assert not any(file.suffix in (".pkl", ".pt", ".pth", ".bin") for file in path.iterdir())


def test_unknown_layer_type_is_refused(tmp_path: Path) -> None:
    path = saved_model(tmp_path)
    document = json.loads((path / "config.json").read_text())
    document["config"]["layers"].insert(1, {"class_name": "Gizmo", "config": {"function": "os.system('rm -rf /')"}})
    (path / "config.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match="unknown layer type 'Gizmo'. Known layer types: InputLayer, Conv1D"):
        load_model(path)


def test_a_lambda_holding_code_is_refused_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = saved_model(tmp_path)
    document = json.loads((path / "config.json").read_text())
    document["config"]["layers"].insert(1, {"class_name": "Lambda", "config": {"function": "os.system('rm -rf /')"}})
    (path / "config.json").write_text(json.dumps(document))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("code from the file ran")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, refuse)
    with pytest.raises(ValueError, match=re.escape("""Lambda: the function "os.system('rm -rf /')" is not known""")):
        load_model(path)


@pytest.mark.parametrize(("change", "message"), [
    ({"input_shape": [2**30, 2**30, 3]}, "each size must be an integer from 1 to 1,048,576"),
    ({"input_shape": [60000, 60000, 1]}, "holds 3,600,000,000 values, more than"),
    ({"input_shape": "28x28"}, "input_shape must be a list of 1 to 8 sizes"),
    ({"input_shape": [28, -1, 1]}, "has size -1"),
    ({"layers": [{"class_name": "Dense", "config": {"units": 2**19}}], "input_shape": [2**20]},
     f"more than {MAX_PARAMS:,} weights by layer 0"),
    ({"layers": [{"class_name": "Conv2D", "config": {"filters": 2**20, "kernel_size": 2**10}}], "input_shape": [1024, 1024, 3]},
     "more than 2,000,000,000 weights"),
    ({"layers": [{"class_name": "Dense", "config": {"units": 4}}] * 20_000, "input_shape": [4]}, "at most 10,000"),
    ({"layers": "all of them"}, "a 'layers' list"),
])
def test_absurd_configs_are_refused_before_allocating(change: dict, message: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"name": "hostile", "input_shape": [28, 28, 1], "layers": [{"class_name": "Flatten", "config": {}}]}
    config.update(change)
    allocations = watch_allocations(monkeypatch)
    began = time.perf_counter()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        model_from_config(config)
    assert time.perf_counter() - began < 5
    assert allocations == [], f"weights were allocated before refusing: {allocations}"


def test_weight_shapes_are_checked_against_the_weights_file_before_building(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    convscope.set_seed(0)
    model = zoo.build("seed-cnn")
    model.save(tmp_path / "model")
    document = json.loads((tmp_path / "model" / "config.json").read_text())
    dense = next(entry for entry in document["config"]["layers"] if entry["config"].get("units") == 128)
    dense["config"]["units"] = 400_000  # 1600 x 400,000 float32 = 2.4 GiB if it were built
    (tmp_path / "model" / "config.json").write_text(json.dumps(document))
    allocations = watch_allocations(monkeypatch)
    expected = (f"{tmp_path / 'model' / 'model.safetensors'}: Dense 'dense' kernel: the config asks for shape "
                "(1600, 400000); the file holds (1600, 128)")
    with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_model(tmp_path / "model")
    assert allocations == [], f"weights were allocated before refusing: {allocations}"


def test_large_but_sane_config_still_loads() -> None:
    model = model_from_config({"input_shape": [64, 64, 3], "layers": [
        {"class_name": "Conv2D", "config": {"filters": 32, "kernel_size": 3}},
        {"class_name": "GlobalAveragePooling2D", "config": {}},
        {"class_name": "Dense", "config": {"units": 10}}]})
    assert model.count_params() == 3 * 3 * 3 * 32 + 32 + 32 * 10 + 10


def test_config_check_draws_no_random_numbers() -> None:
    config = {"input_shape": [8, 8, 1], "layers": [{"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 3}}]}
    convscope.set_seed(0)
    first = model_from_config(config).get_weights()
    convscope.set_seed(0)
    direct = Sequential([layers.Conv2D(4, 3, input_shape=(8, 8, 1))]).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, direct, strict=True))


@pytest.mark.parametrize("damage", ["weights", "optimizer", "config", "version"])
def test_damaged_files_give_value_errors(tmp_path: Path, damage: str) -> None:
    path = saved_model(tmp_path)
    if damage == "weights":
        (path / "model.safetensors").write_bytes(b"\xff" * 64)
    elif damage == "optimizer":
        raw = (path / "optimizer.safetensors").read_bytes()
        (path / "optimizer.safetensors").write_bytes(raw[: len(raw) // 2])
    elif damage == "config":
        (path / "config.json").write_text("{not json")
    else:
        document = json.loads((path / "config.json").read_text())
        document["format_version"] = [1]
        (path / "config.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match=str(path)):
        load_model(path)
