"""A small CNN trained for a few seconds on real MNIST: its own outputs are what the conv steps
add up to, and interpretation, saliency, curves, plots and the CLI work on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from convscope import Sequential, layers, load_model, set_seed
from convscope.cli import main as cli_main
from convscope.explain import (
    conv_steps,
    dense_steps,
    feature_maps,
    grad_cam,
    gradient_saliency,
    interpret,
    pool_steps,
    training_curves,
)
from convscope.plots import interpret as interpret_plots

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(mnist_small: tuple, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """(model, history, x_test, y_test, saved model folder)."""
    x_train, y_train, x_test, y_test = mnist_small
    set_seed(0)
    model = Sequential([
        layers.Conv2D(8, 3, activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D(2),
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(32, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    # float32 throughout, so that predict() is the same computation the steps check (with
    # precision="auto" a CPU with native bfloat16 would predict in bfloat16, about 3 digits)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  precision="float32")
    history = model.fit(x_train, y_train, epochs=2, batch_size=64, validation_data=(x_test, y_test), verbose=0)
    folder = tmp_path_factory.mktemp("trained") / "model"
    model.save(folder)
    return model, history, x_test, y_test, folder


def test_conv_steps_equal_the_trained_model_at_100_positions(trained: tuple) -> None:
    model, _, x_test, _, _ = trained
    rng = np.random.default_rng(42)
    conv_layers = [i for i, layer in enumerate(model.layers) if type(layer).__name__ == "Conv2D"]
    differences = []
    for trial in range(100):
        example = x_test[int(rng.integers(0, len(x_test)))]
        index = conv_layers[trial % len(conv_layers)]
        maps = feature_maps(model, example, layers=[index])[0].maps
        position = tuple(int(rng.integers(0, n)) for n in maps.shape[:2])
        filter_index = int(rng.integers(0, maps.shape[-1]))
        steps = conv_steps(model, example, position=position, filter=filter_index, layer=index)
        assert steps.engine_output == pytest.approx(float(maps[(*position, filter_index)]))
        assert abs(steps.output - steps.engine_output) <= 1e-5
        assert steps.agrees
        differences.append(abs(steps.output - steps.engine_output))
    assert max(differences) < 1e-5


def test_pool_and_dense_steps_equal_the_trained_model(trained: tuple) -> None:
    model, _, x_test, _, _ = trained
    example = x_test[0]
    probabilities = model.predict(example[None], verbose=0)[0]
    for unit in range(10):
        assert dense_steps(model, example, unit=unit).output == pytest.approx(probabilities[unit], abs=1e-5)
    for layer in ("max_pooling2d", "max_pooling2d_1"):
        steps = pool_steps(model, example, position=(2, 3), channel=1, layer=layer)
        assert steps.agrees and steps.output == max(steps.real_values)


def test_interpretation_of_the_trained_model(trained: tuple) -> None:
    model, _, x_test, y_test, _ = trained
    result = interpret(model, x_test, y_test)
    probabilities = model.predict(x_test, verbose=0)
    assert result.accuracy == pytest.approx(float(np.mean(probabilities.argmax(1) == y_test)))
    assert result.accuracy > 0.8
    matrix = result.confusion_matrix()
    assert matrix.sum() == len(y_test) and np.trace(matrix) == round(result.accuracy * len(y_test))
    for top in result.top_losses(9):
        assert top.actual == y_test[top.index]
        assert top.actual_probability == pytest.approx(float(probabilities[top.index, top.actual]), abs=1e-6)
        assert top.predicted_probability == pytest.approx(float(probabilities[top.index].max()), abs=1e-6)
        assert top.loss == pytest.approx(-np.log(max(top.actual_probability, 1e-12)), rel=1e-6)
    first, second = result.most_confused()[:2]
    assert first[2] >= second[2] > 0


def test_grad_cam_matches_a_hooked_recomputation(trained: tuple) -> None:
    import torch

    model, _, x_test, y_test, _ = trained
    example = x_test[3]
    cam = grad_cam(model, example, target=int(y_test[3]))
    assert cam.layer == "conv2d_1" and cam.coarse.shape == (11, 11) and cam.heatmap.shape == (28, 28)
    # independently: a forward hook on the conv layer and the model's own logits path
    captured = {}
    handle = model.layers[2].register_forward_hook(lambda _m, _i, out: captured.update(maps=out))
    try:
        logits = model(torch.from_numpy(example[None]), logits=True)
    finally:
        handle.remove()
    (gradient,) = torch.autograd.grad(logits[0, int(y_test[3])], [captured["maps"]])
    weights = gradient.mean(dim=(1, 2), keepdim=True)
    expected = torch.relu((weights * captured["maps"]).sum(dim=-1))[0].detach().numpy()
    np.testing.assert_allclose(cam.coarse, expected, rtol=1e-4, atol=1e-7)
    assert cam.heatmap.max() == pytest.approx(1.0) and cam.heatmap.min() >= 0
    gradients = gradient_saliency(model, example)
    assert gradients.heatmap.shape == (28, 28) and gradients.heatmap.max() > 0


def test_training_curves_and_plots_of_the_trained_model(png_drawn: Callable[..., None], trained: tuple, tmp_path: Path) -> None:
    model, history, x_test, y_test, _ = trained
    curves = training_curves(history)
    assert curves.epochs == [1, 2]
    assert set(curves.curves) >= {"loss", "accuracy"}
    assert curves.curves["loss"]["train"][1] < curves.curves["loss"]["train"][0]
    result = interpret(model, x_test, y_test)
    for path in (interpret_plots.plot_training_curves(curves, tmp_path / "curves.png"),
                 interpret_plots.plot_confusion_matrix(result, tmp_path / "cm.png"),
                 interpret_plots.plot_top_losses(result, x_test, tmp_path / "top.png"),
                 interpret_plots.plot_saliency(grad_cam(model, x_test[1]), tmp_path / "cam.png")):
        png_drawn(path)


def test_cli_on_the_saved_model(png_drawn: Callable[..., None], trained: tuple, tmp_path: Path, shared_data_dir: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    _, _, _, _, folder = trained
    data = ["--data", "mnist", "--path", str(shared_data_dir / "mnist"), "--index", "0"]
    assert cli_main(["explain", "shapes", "--model", str(folder)]) == 0
    assert "journey: 28 -> 26 -> 13 -> 11 -> 5 -> 400 -> 32 -> 10" in capsys.readouterr().out
    assert cli_main(["explain", "conv", "--model", str(folder), *data, "--layer", "conv2d_1",
                     "--position", "4,5", "--filter", "3", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "Conv2D 'conv2d_1', filter 3, output position (4, 5)" in text and "(agrees;" in text
    png_drawn(tmp_path / "conv_steps.png")
    assert cli_main(["explain", "pool", "--model", str(folder), *data, "--position", "1,1"]) == 0
    assert "max(" in capsys.readouterr().out
    assert cli_main(["explain", "maps", "--model", str(folder), *data, "--out", str(tmp_path / "maps")]) == 0
    assert len(list((tmp_path / "maps").glob("*.png"))) == 7
    assert cli_main(["explain", "filters", "--model", str(folder), "--out", str(tmp_path)]) == 0
    png_drawn(tmp_path / "filters_conv2d.png", 300, 100)
    history = tmp_path / "history.json"
    history.write_text('{"loss": [0.9, 0.4], "val_loss": [0.7, 0.5]}')
    assert cli_main(["explain", "interpret", "--model", str(folder), "--data", "mnist", "--path",
                     str(shared_data_dir / "mnist"), "--limit", "300", "--history", str(history),
                     "--out", str(tmp_path / "interpret")]) == 0
    report = capsys.readouterr().out
    assert "accuracy" in report and "top losses" in report
    names = sorted(p.name for p in (tmp_path / "interpret").glob("*.png"))
    assert names == ["confusion_matrix.png", "per_class_accuracy.png", "saliency_grad_cam.png",
                     "saliency_gradient.png", "top_losses.png", "training_curves.png"]
    for name in names:
        png_drawn(tmp_path / "interpret" / name)
    reloaded = load_model(folder, compile=False)
    assert conv_steps(reloaded, np.zeros((28, 28, 1)), position=(0, 0)).agrees
