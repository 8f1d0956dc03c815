"""Functional models through the CLI, each command in a fresh process: `convscope train` of a
Python `build_model()` returning a residual graph and of a YAML graph spec with Inception-style
branches, then summary, explain (shapes, merge, conv, maps, interpret) and predict on the run
folders, checked against the Python API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from image_folders import write_bars_dataset
from PIL import Image
from workflow_helpers import Workflow, is_png, user_environment

from convscope import explain, zoo
from convscope.models.functional import Functional
from convscope.models.summary import summary_text
from convscope.runs import Run

pytestmark = pytest.mark.slow

RECIPE = ("--epochs", "2", "--batch-size", "16", "--seed", "0", "--precision", "float32", "--device", "cpu")

PYTHON_MODEL = '''\
"""A residual CNN: the second convolution's output is added to the first's."""
from convscope import Input, Model, layers


def build_model(input_shape, num_classes):
    inputs = Input(input_shape)
    stem = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inputs)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(stem)
    x = layers.Conv2D(8, 3, padding="same", name="conv_b")(x)
    x = layers.ReLU(name="relu")(layers.Add(name="skip")([stem, x]))
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.GlobalAveragePooling2D(name="features")(x)
    return Model(inputs, layers.Dense(num_classes, activation="softmax", name="classes")(x), name="residual_py")
'''

YAML_SPEC = """\
name: branches
layers:
  - Conv2D: {filters: 8, kernel_size: 3, activation: relu}
    name: stem
  - MaxPooling2D: {pool_size: 2}
    name: stem_pool
  - Conv2D: {filters: 4, kernel_size: 1, activation: relu}
    name: branch_1x1
  - Conv2D: {filters: 4, kernel_size: 1, activation: relu}
    inputs: [stem_pool]
  - Conv2D: {filters: 6, kernel_size: 3, padding: same, activation: relu}
    name: branch_3x3
  - MaxPooling2D: {pool_size: 3, strides: 1, padding: same}
    inputs: [stem_pool]
  - Conv2D: {filters: 4, kernel_size: 1, activation: relu}
    name: branch_pool
  - Concatenate: {}
    inputs: [branch_1x1, branch_3x3, branch_pool]
    name: mixed
  - GlobalAveragePooling2D: {}
  - Dense: {units: 4, activation: softmax}
"""


@pytest.fixture(scope="module")
def bars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bars_dataset(tmp_path_factory.mktemp("graph-data") / "bars")


@pytest.fixture(scope="module", params=["python", "yaml"])
def trained(request: pytest.FixtureRequest, bars: Path, tmp_path_factory: pytest.TempPathFactory) -> Workflow:
    root = tmp_path_factory.mktemp(f"graph-{request.param}")
    source = root / ("residual.py" if request.param == "python" else "branches.yaml")
    source.write_text(PYTHON_MODEL if request.param == "python" else YAML_SPEC)
    flow = Workflow(str(source), str(bars), root / "run", user_environment(root / "no-data", root / "cache"))
    flow.train_output = flow.cli("train", str(source), "--data", str(bars), "--out", str(flow.folder), *RECIPE).stdout
    return flow


@pytest.fixture(scope="module")
def example(bars: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bar2's first image as the model takes it (0..1, channels last), as .npy."""
    pixels = np.asarray(Image.open(bars / "bar2" / "000.png"), np.float32)[..., None] / 255
    path = tmp_path_factory.mktemp("graph-input") / "bar2.npy"
    np.save(path, pixels)
    return path


def test_train_writes_a_run_of_a_functional_model(trained: Workflow) -> None:
    assert "Connected to" in trained.train_output and "Test: loss " in trained.train_output
    model = Run.open(trained.folder).load_model()
    assert isinstance(model, Functional) and model.output_shape == (None, 4)
    for name in ("model/config.json", "model/model.safetensors", "summary.txt", "plots/confusion.png", "report.html"):
        assert (trained.folder / name).is_file(), name
    config = json.loads((trained.folder / "config.json").read_text())
    assert config["status"] == "finished" and "input_layers" in config["model"]


def test_summary_and_shapes_match_the_python_api(trained: Workflow) -> None:
    model = Run.open(trained.folder).load_model()
    assert trained.cli("summary", str(trained.folder)).stdout == summary_text(model) + "\n"
    shapes = trained.cli("explain", "shapes", "--model", str(trained.folder)).stdout
    assert shapes == explain.format_shape_journey(explain.shape_journey(model)) + "\n"
    row = r"skip +Add +stem, conv_b " if "residual" in trained.model else \
        r"mixed +Concatenate +branch_1x1, branch_3x3, branch_pool "
    assert re.search(row, shapes), shapes


def test_explain_merge_and_conv_agree_with_the_trained_model(trained: Workflow, example: Path, tmp_path: Path) -> None:
    model = Run.open(trained.folder).load_model()
    merge = "skip" if "residual" in trained.model else "mixed"
    text = trained.cli("explain", "merge", "--model", str(trained.folder), "--image", str(example), "--layer", merge,
                       "--position", "3,5", "--channel", "1", "--out", str(tmp_path)).stdout
    steps = explain.merge_steps(model, np.load(example), position=(3, 5), channel=1, layer=merge)
    assert text.splitlines() == [*steps.text().splitlines(), f"wrote {tmp_path / 'merge_steps.json'}"]
    assert steps.agrees
    conv = "conv_b" if "residual" in trained.model else "branch_3x3"
    text = trained.cli("explain", "conv", "--model", str(trained.folder), "--image", str(example), "--layer", conv,
                       "--position", "0,0", "--filter", "2").stdout
    assert "(agrees;" in text and text.startswith(f"Conv2D '{conv}', filter 2, output position (0, 0)")


def test_explain_maps_draws_every_node(trained: Workflow, example: Path, tmp_path: Path) -> None:
    model = Run.open(trained.folder).load_model()
    trained.cli("explain", "maps", "--model", str(trained.folder), "--image", str(example), "--out", str(tmp_path))
    nodes = [layer.name for layer, _, _ in model.nodes_in_order()]
    assert sorted(path.name for path in tmp_path.glob("*.png")) == [f"{index:02d}_{name}.png"
                                                                     for index, name in enumerate(nodes)]
    assert all(is_png(path) for path in tmp_path.glob("*.png"))


def test_explain_interpret_draws_grad_cam_of_the_last_conv_node(trained: Workflow, bars: Path, tmp_path: Path) -> None:
    images = sorted(bars.glob("bar*/00[0-2].png"))
    x = np.stack([np.asarray(Image.open(path), np.uint8)[..., None] for path in images])
    y = np.asarray([int(path.parent.name[3:]) for path in images])
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    out = tmp_path / "interpret"
    text = trained.cli("explain", "interpret", "--model", str(trained.folder), "--x", str(tmp_path / "x.npy"),
                       "--y", str(tmp_path / "y.npy"), "--out", str(out)).stdout
    assert f"wrote {out / 'saliency_grad_cam.png'}" in text
    assert is_png(out / "saliency_grad_cam.png") and is_png(out / "saliency_gradient.png")


def test_predict_matches_the_python_api(trained: Workflow, example: Path) -> None:
    model = Run.open(trained.folder).load_model()
    (answer,) = json.loads(trained.cli("predict", str(trained.folder), str(example), "--json", "--top", "4").stdout)
    expected = model.predict(np.load(example)[None], verbose=0)[0]
    shown = [entry["probability"] for entry in sorted(answer["top"], key=lambda entry: entry["class"])]
    np.testing.assert_allclose(shown, expected, atol=1e-5)
    assert answer["prediction"]["class"] == int(expected.argmax())


def test_the_zoos_residual_cnn_trains_and_explains(bars: Path, example: Path, tmp_path: Path) -> None:
    if "residual-cnn" not in zoo.names():
        pytest.skip("this convscope's zoo has no residual-cnn")
    flow = Workflow("residual-cnn", str(bars), tmp_path / "run", user_environment(tmp_path / "no-data", tmp_path / "c"))
    flow.cli("train", "residual-cnn", "--data", str(bars), "--out", str(flow.folder), "--epochs", "1",
             "--batch-size", "16", "--seed", "0")
    shapes = flow.cli("explain", "shapes", "--model", str(flow.folder)).stdout
    assert "Add" in shapes and "MISMATCH" not in shapes
    add = next(layer.name for layer in Run.open(flow.folder).load_model().layers if type(layer).__name__ == "Add")
    text = flow.cli("explain", "merge", "--model", str(flow.folder), "--image", str(example), "--layer", add).stdout
    assert f"Add '{add}'" in text and "(agrees;" in text
