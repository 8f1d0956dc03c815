"""The zoo's residual CNN: the same model as its twin in real Keras (fixtures/residual_cnn_keras.json,
written by make_zoo_fixtures.py), any image shape and class count, per-model recipe defaults,
training through `convscope train` on Fashion-MNIST and on a CIFAR-10-shaped stand-in, and
the saved, reloaded and exported model giving the trained model's outputs."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from make_zoo_fixtures import CONFIG_KEYS, zoo_inputs, zoo_weights

from convscope import layers, zoo
from convscope.data import cifar
from convscope.models import Functional, load_model
from convscope.training import DEFAULT
from convscope.training.recipe import recipe_defaults

KERAS = json.loads((Path(__file__).parent / "fixtures" / "residual_cnn_keras.json").read_text())
SHAPES = [(28, 28, 1), (32, 32, 3)]


def shape_key(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


@pytest.mark.parametrize("shape", SHAPES, ids=shape_key)
def test_the_summary_is_the_keras_twins(shape: tuple[int, ...]) -> None:
    keras = KERAS[shape_key(shape)]
    model = zoo.build("residual-cnn", shape)
    assert isinstance(model, Functional) and model.output_shape == (None, 10)
    summary = model.summary_data()
    rows = [[layer.name, type(layer).__name__, list(layer.output_shape), layer.count_params()]
            for layer in model.layers]
    assert rows == keras["layers"]
    assert model.count_params() == keras["total_params"] == summary["total_params"]
    assert summary["trainable_params"] == keras["trainable_params"]
    assert summary["non_trainable_params"] == keras["non_trainable_params"]
    assert [list(weight.shape) for weight in model.get_weights()] == keras["weight_shapes"]
    configs = [{key: list(value) if isinstance(value, tuple) else value
                for key, value in layer.get_config().items() if key in CONFIG_KEYS} for layer in model.layers]
    assert configs == keras["configs"]


@pytest.mark.parametrize("shape", SHAPES, ids=shape_key)
def test_with_the_twins_weights_it_predicts_what_keras_predicts(shape: tuple[int, ...]) -> None:
    keras = KERAS[shape_key(shape)]
    model = zoo.build("residual-cnn", shape)
    model.set_weights(zoo_weights([tuple(s) for s in keras["weight_shapes"]]))
    predictions = model.predict(zoo_inputs(shape), verbose=0)
    np.testing.assert_allclose(predictions, np.array(keras["predictions"]), rtol=1e-4, atol=1e-6)
    assert np.ptp(predictions, axis=0).max() > 0.01  # the inputs are told apart: a real comparison


@pytest.mark.parametrize(("shape", "classes", "features"), [
    ((28, 28, 1), 10, (4, 4)), ((32, 32, 3), 10, (4, 4)), ((64, 48, 3), 7, (8, 6)), ((2, 2, 1), 2, (1, 1)),
])
def test_any_image_shape_and_class_count(shape: tuple[int, ...], classes: int, features: tuple[int, int]) -> None:
    model = zoo.build("residual-cnn", shape, classes)
    last_block = next(layer for layer in reversed(model.layers) if isinstance(layer, layers.ReLU))
    assert last_block.output_shape == (None, *features, 128)
    assert model.output_shape == (None, classes)
    outputs = model.predict(np.random.default_rng(0).random((3, *shape), dtype=np.float32), verbose=0)
    assert outputs.shape == (3, classes)
    np.testing.assert_allclose(outputs.sum(axis=1), 1.0, rtol=1e-5)


def test_signals_are_refused_with_the_models_that_take_them() -> None:
    with pytest.raises(ValueError, match=r"residual-cnn takes images .* got input shape \(40, 1\).*mnist1d-cnn"):
        zoo.build("residual-cnn", (40, 1))


def test_the_recipe_gives_it_its_own_epochs_and_the_others_the_default() -> None:
    assert recipe_defaults("residual-cnn") == recipe_defaults("residual_cnn") == {"epochs": zoo.RESIDUAL_EPOCHS}
    assert zoo.RESIDUAL_EPOCHS > DEFAULT.epochs
    assert recipe_defaults("seed-cnn") == {} and recipe_defaults("model.py") == {} and recipe_defaults("nope") == {}


def test_the_cli_trains_it_for_its_own_epochs_unless_told() -> None:
    import argparse

    from convscope.cli.recipe_options import add_arguments, settings_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    parser.add_argument("model")
    parser.add_argument("--data")

    def epochs(*argv: str) -> int:
        return settings_from_args(parser.parse_args([*argv, "--data", "fashion_mnist"])).epochs

    assert epochs("residual-cnn") == zoo.RESIDUAL_EPOCHS
    assert epochs("residual-cnn", "--epochs", "2") == 2
    assert epochs("seed-cnn") == DEFAULT.epochs


def train(argv: list[str], folder: Path, env: dict[str, str] | None = None) -> tuple[list[dict[str, str]], str]:
    """`convscope train ARGV --out FOLDER` in a fresh process: the run's history rows and output."""
    done = subprocess.run([sys.executable, "-m", "convscope", "train", *argv, "--out", str(folder)],
                          capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", **(env or {})})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with (folder / "history.csv").open() as handle:
        return list(csv.DictReader(handle)), done.stdout


@pytest.mark.slow
def test_convscope_train_learns_fashion_mnist_on_a_subset(fashion_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    history, output = train(["residual-cnn", "--data", "fashion_mnist", "--path", str(fashion_dir), "--limit",
                             "2048", "--test-limit", "500", "--epochs", "3"], folder)
    losses = [float(row["loss"]) for row in history]
    assert len(losses) == 3 and losses[-1] < 0.6 * losses[0]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.7 and metrics["test_samples"] == 500  # 10 classes: chance is 0.1
    assert f"accuracy {metrics['test_accuracy']:.4f} (500 samples)" in output
    assert "residual_cnn" in (folder / "summary.txt").read_text()
    check_round_trips(folder, tmp_path, (28, 28, 1))


def write_cifar_stand_in(folder: Path, records: int = 256) -> None:
    """CIFAR-10's five training batches and test batch, in its binary format, with images a
    network can learn: the label says which band of rows is bright (label % 3) and in which
    colour (label // 3: red, green, blue, or all three for label 9)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in (*cifar.TRAIN_BATCHES, cifar.TEST_BATCH):
        labels = rng.integers(0, 10, records)
        images = rng.integers(0, 96, (records, 32, 32, 3))
        for image, label in zip(images, labels):
            band = slice(11 * (label % 3), 11 * (label % 3) + 10)
            image[band, :, label // 3 if label < 9 else slice(None)] += 150
        cifar.write_batch(folder / name, images.astype(np.uint8), labels.astype(np.uint8))


@pytest.mark.slow
def test_convscope_train_learns_a_cifar10_shaped_stand_in(tmp_path: Path) -> None:
    data = tmp_path / "cifar"
    write_cifar_stand_in(data / cifar.BATCH_FOLDER)
    folder = tmp_path / "run"
    history, output = train(["residual-cnn", "--data", "cifar10", "--path", str(data), "--epochs", "3",
                             "--batch-size", "64"], folder, env={"CONVSCOPE_DATA_DIR": str(tmp_path / "none")})
    assert "32, 32, 3" in (folder / "summary.txt").read_text() and "Epoch 3/3" in output
    losses = [float(row["loss"]) for row in history]
    assert losses[-1] < 0.2 * losses[0] and losses[-1] < 0.5 * np.log(10)  # a guess among 10 costs log(10)
    assert json.loads((folder / "metrics.json").read_text())["test_accuracy"] > 0.6  # chance is 0.1
    check_round_trips(folder, tmp_path, (32, 32, 3))


def check_round_trips(folder: Path, tmp_path: Path, shape: tuple[int, ...]) -> None:
    """The trained model of run `folder`, saved by convscope and as a Keras file, loads and gives
    the same predictions; its ONNX and TorchScript exports too. Uncompiled, every copy predicts
    in float32 (a compiled one may predict in bfloat16 where the CPU has it)."""
    model = load_model(folder / "model", compile=False)
    assert isinstance(model, Functional) and model.name == "residual_cnn"
    x = np.random.default_rng(1).random((6, *shape), dtype=np.float32)
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "again")
    np.testing.assert_allclose(load_model(tmp_path / "again", compile=False).predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "residual.keras")
    np.testing.assert_allclose(load_model(tmp_path / "residual.keras", compile=False).predict(x, verbose=0), expected,
                               rtol=1e-5, atol=1e-6)
    scripted = torch.jit.load(str(model.export(tmp_path / "residual.pt")))
    with torch.no_grad():
        np.testing.assert_allclose(scripted(torch.from_numpy(x)).numpy(), expected, rtol=1e-4, atol=1e-6)
    pytest.importorskip("onnxruntime")
    import onnxruntime

    session = onnxruntime.InferenceSession(str(model.export(tmp_path / "residual.onnx")))
    (onnx_out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(onnx_out, expected, rtol=1e-4, atol=1e-6)
