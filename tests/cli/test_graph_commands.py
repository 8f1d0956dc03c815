"""`convscope summary` and `explain` on functional models (saved folders and run folders), and
the graph specs `train` and `summary` read: the YAML/JSON graph format and Keras's own
functional config."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import mask, run_cli
from graph_models import inception_cnn, residual_cnn

from convscope import explain, runs
from convscope.models.functional import Functional
from convscope.models.summary import summary_text
from convscope.training import build_model

RESIDUAL_SPEC = """\
name: small_residual
input_shape: [28, 28, 1]
layers:
  - Conv2D: {filters: 8, kernel_size: 3, padding: same, activation: relu}
    name: stem
  - Conv2D: {filters: 8, kernel_size: 3, padding: same, activation: relu}
  - Conv2D: {filters: 8, kernel_size: 3, padding: same}
    name: residual
  - Add: {}
    inputs: [stem, residual]
  - ReLU: {}
  - MaxPooling2D: {pool_size: 2}
  - GlobalAveragePooling2D: {}
  - Dense: {units: 4, activation: softmax}
"""

INCEPTION_SPEC = {
    "name": "branches",
    "layers": [
        {"type": "Conv2D", "name": "stem", "filters": 8, "kernel_size": 3, "activation": "relu"},
        {"type": "Conv2D", "name": "one", "filters": 4, "kernel_size": 1, "inputs": ["stem"]},
        {"type": "Conv2D", "filters": 4, "kernel_size": 1, "activation": "relu", "inputs": ["stem"]},
        {"type": "Conv2D", "name": "three", "filters": 6, "kernel_size": 3, "padding": "same"},
        {"class_name": "MaxPooling2D", "config": {"name": "pool", "pool_size": 3, "strides": 1, "padding": "same"},
         "inputs": "stem"},
        {"Concatenate": {}, "inputs": ["one", "three", "pool"]},
        {"GlobalAveragePooling2D": {}},
        {"Dense": {"units": 4, "activation": "softmax"}},
    ],
}


@pytest.fixture(scope="module")
def saved_residual(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """residual_cnn saved with model.save (a model folder, not a run)."""
    folder = tmp_path_factory.mktemp("graph") / "residual_model"
    residual_cnn().save(folder)
    return folder


@pytest.fixture(scope="module")
def inception_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return runs.save_model_run(inception_cnn(), tmp_path_factory.mktemp("graph") / "inception_run",
                               preprocessing=runs.Preprocessing((28, 28, 1)), class_names=list("abcdefghij"))


@pytest.fixture(scope="module")
def one_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "input.npy"
    np.save(path, np.random.default_rng(0).random((28, 28, 1)).astype(np.float32))
    return path


def test_summary_of_a_saved_functional_model(saved_residual: Path, golden: Callable[[str, str], None]) -> None:
    code, stdout, stderr = run_cli("summary", str(saved_residual))
    assert code == 0, stderr
    golden("summary-residual.txt", stdout)
    assert "block1_add (Add)" in stdout and "stem[0][0], block1_conv2[0][0]" in stdout


def test_explain_shapes_of_a_functional_model(saved_residual: Path, golden: Callable[[str, str], None]) -> None:
    code, stdout, stderr = run_cli("explain", "shapes", "--model", str(saved_residual))
    assert code == 0, stderr
    golden("explain-shapes-residual.txt", stdout)
    assert "block2_shortcut  Conv2D                  pool " in stdout


def test_explain_merge_conv_and_pool_on_a_run_folder(inception_run: Path, one_input: Path, tmp_path: Path) -> None:
    code, stdout, stderr = run_cli("explain", "merge", "--model", str(inception_run), "--image", str(one_input),
                                   "--position", "3,4", "--channel", "13", "--out", str(tmp_path))
    assert code == 0, stderr
    assert stdout.splitlines()[:4] == ["Concatenate 'mixed', output position (3, 4), channel 13",
                                       "channels 0-3 <- branch1_1x1 (its channels 0-3)",
                                       "channels 4-9 <- branch2_3x3 (its channels 0-5)",
                                       "channels 10-13 <- branch3_5x5 (its channels 0-3)"]
    saved = json.loads((tmp_path / "merge_steps.json").read_text())
    assert saved["agrees"] and saved["terms"][0]["source"] == "branch3_5x5" and saved["terms"][0]["index"] == [3, 4, 3]
    code, stdout, _ = run_cli("explain", "conv", "--model", str(inception_run), "--image", str(one_input),
                              "--layer", "branch4_1x1", "--position", "0,12")
    assert code == 0 and stdout.startswith("Conv2D 'branch4_1x1', filter 0, output position (0, 12)")
    code, stdout, _ = run_cli("explain", "pool", "--model", str(inception_run), "--image", str(one_input),
                              "--layer", "branch4_pool", "--position", "12,12", "--out", str(tmp_path))
    assert code == 0 and "Window: input positions (11, 11) to (13, 13), 4 values" in stdout  # 5 on padding
    assert stdout.count("pad") == 5 and "agrees" in stdout
    written = sorted(path.name for path in tmp_path.glob("*.png"))
    assert written == ["02_stem_pool.png", "05_branch4_pool.png", "pool_steps.png"]  # its input: stem_pool


def test_explain_maps_say_what_each_node_reads(inception_run: Path, one_input: Path) -> None:
    code, stdout, stderr = run_cli("explain", "maps", "--model", str(inception_run), "--image", str(one_input),
                                   "--layers", "mixed,branch2_3x3")
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert lines[0].startswith(" 7 Conv2D 'branch2_3x3' <- branch2_1x1: (13, 13, 6), min ")
    assert lines[1].startswith("10 Concatenate 'mixed' <- branch1_1x1, branch2_3x3, branch3_5x5, branch4_1x1: "
                               "(13, 13, 18), min ")


def test_explain_merge_refuses_a_layer_that_is_not_one(inception_run: Path, one_input: Path) -> None:
    code, _, stderr = run_cli("explain", "merge", "--model", str(inception_run), "--image", str(one_input),
                              "--layer", "stem")
    assert code == 1 and "layer 'stem' is a Conv2D; expected one of Add" in stderr


# -- graph specs ---------------------------------------------------------------------------------

def test_a_yaml_graph_spec_builds_a_functional_model(tmp_path: Path) -> None:
    spec = tmp_path / "residual.yaml"
    spec.write_text(RESIDUAL_SPEC)
    model = build_model(str(spec), None, 4)
    assert isinstance(model, Functional) and model.name == "small_residual"
    assert [layer.name for layer in model.layers] == ["input", "stem", "conv2d", "residual", "add", "re_lu",
                                                      "max_pooling2d", "global_average_pooling2d", "dense"]
    add = {step.layer: step for step in explain.shape_journey(model)}["add"]
    assert add.sources == ("stem", "residual") and add.output_shape == (28, 28, 8)
    code, stdout, _ = run_cli("summary", str(spec))
    assert code == 0 and stdout == summary_text(model) + "\n"


def test_a_json_graph_spec_takes_the_datas_input_shape(tmp_path: Path) -> None:
    spec = tmp_path / "branches.json"
    spec.write_text(json.dumps(INCEPTION_SPEC))
    model = build_model(str(spec), (20, 20, 3), 4)
    assert model.input_shape == (None, 20, 20, 3) and model.output_shape == (None, 4)
    mixed = {step.layer: step for step in explain.shape_journey(model)}["concatenate"]
    assert mixed.sources == ("one", "three", "pool") and mixed.output_shape == (18, 18, 18)
    assert [layer.name for layer in model.layers][1:3] == ["stem", "conv2d"]


def test_keras_functional_config_json_is_read_as_it_is(tmp_path: Path) -> None:
    original = residual_cnn()
    spec = tmp_path / "keras_model.json"
    spec.write_text(original.to_json())
    model = build_model(str(spec), (28, 28, 1), 10)
    assert isinstance(model, Functional)
    assert summary_text(model) == summary_text(original)


def test_a_python_build_model_may_return_a_functional_model(tmp_path: Path) -> None:
    source = tmp_path / "net.py"
    source.write_text("from convscope import Input, Model, layers\n\n"
                      "def build_model(input_shape, num_classes):\n"
                      "    inputs = Input(input_shape)\n"
                      "    x = layers.Conv2D(4, 3, padding='same', activation='relu')(inputs)\n"
                      "    x = layers.Add()([x, layers.Conv2D(4, 3, padding='same')(x)])\n"
                      "    x = layers.GlobalAveragePooling2D()(x)\n"
                      "    return Model(inputs, layers.Dense(num_classes, activation='softmax')(x))\n")
    model = build_model(str(source), (12, 12, 1), 3)
    assert isinstance(model, Functional) and model.output_shape == (None, 3)


GRAPH_SPEC_ERRORS = [
    ("reads a layer that comes later", {"input_shape": [8, 8, 1], "layers": [
        {"Conv2D": {"filters": 2, "kernel_size": 3}, "inputs": ["later"]},
        {"Conv2D": {"filters": 2, "kernel_size": 3}, "name": "later"}]},
     "layer 0 (conv2d) reads ['later']; `inputs` must name earlier layers or inputs, one of: input."),
    ("two layers of one name", {"input_shape": [8, 8, 1], "layers": [
        {"ReLU": {}, "name": "same"}, {"ReLU": {}, "name": "same", "inputs": ["input"]}]},
     "layer 1 is named 'same', which another layer or input has"),
    ("no input shape", {"layers": [{"ReLU": {}, "inputs": "input"}]},
     "input 'input' needs a shape, e.g. [28, 28, 1] (or pass --input-shape)"),
    ("an Add of one tensor", {"input_shape": [8, 8, 1], "layers": [{"Add": {}, "inputs": ["input"]}]},
     "a merge layer should be called on a list of inputs"),
    ("an enormous layer, refused before anything is allocated", {"input_shape": [8, 8, 1], "layers": [
        {"Conv2D": {"filters": 10 ** 7, "kernel_size": 3}, "inputs": "input"}]}, "values a model file may ask for"),
    ("an unknown output", {"input_shape": [8, 8, 1], "layers": [{"ReLU": {}, "inputs": "input"}], "outputs": ["x"]},
     "`outputs` ['x'] must name layers of the spec"),
]


@pytest.mark.parametrize(("what", "spec", "words"), GRAPH_SPEC_ERRORS, ids=[case[0] for case in GRAPH_SPEC_ERRORS])
def test_graph_spec_mistakes_are_named(tmp_path: Path, what: str, spec: dict, words: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))
    code, _, stderr = run_cli("summary", str(path))
    assert code == 1 and words in stderr, stderr


def test_training_refuses_a_spec_whose_input_does_not_fit_the_data(tmp_path: Path, bars_dir: Path) -> None:
    spec = tmp_path / "small.yaml"
    spec.write_text(RESIDUAL_SPEC.replace("[28, 28, 1]", "[32, 32, 1]"))
    code, _, stderr = run_cli("train", str(spec), "--data", str(bars_dir), "--out", str(tmp_path / "run"),
                              "--epochs", "1")
    assert code == 1 and "the model's input is (32, 32, 1) but the data's examples are (28, 28, 1)" in mask(stderr)


def test_the_specs_in_the_cli_guide_build(tmp_path: Path) -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    specs = re.findall(r"```yaml\n# (\S+): [^\n]*\n(.*?)```", guide, re.DOTALL)
    assert [name for name, _ in specs] == ["cnn.yaml", "residual.yaml", "inception.yaml"]
    kinds = {}
    for name, text in specs:
        (tmp_path / name).write_text(text)
        model = build_model(str(tmp_path / name), (28, 28, 1), 10)
        kinds[name] = type(model).__name__
        assert model.output_shape == (None, 10)
    assert kinds == {"cnn.yaml": "Sequential", "residual.yaml": "Functional", "inception.yaml": "Functional"}
    (tmp_path / "typo.yaml").write_text(specs[1][1].replace("inputs: [stem, residual]", "inputs: [stme, residual]"))
    quoted = re.search(r"``(layer 3 \(add\) reads .*?)``", guide)
    assert quoted is not None
    with pytest.raises(ValueError) as error:
        build_model(str(tmp_path / "typo.yaml"), None, 10)
    assert str(error.value) == f"{tmp_path / 'typo.yaml'}: {quoted.group(1)}"
