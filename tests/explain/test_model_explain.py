"""Explanations of real convscope models (untrained, seeded): steps agree with the engine,
shapes follow the seeds' arithmetic, saliency matches an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convscope import Sequential, layers, set_seed
from convscope.explain import (
    conv_steps,
    dense_steps,
    feature_maps,
    format_shape_journey,
    grad_cam,
    gradient_saliency,
    learned_filters,
    pool_steps,
    reference,
    shape_journey,
)


def seed_model() -> Sequential:
    """The seed's MNIST model: 64 3x3 filters, 2x2 pooling, twice, then Dense layers."""
    return Sequential([
        layers.Conv2D(64, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def mixed_model() -> Sequential:
    """Strides, dilation, 'same' padding, average pooling, a linear conv and a tanh conv."""
    return Sequential([
        layers.Conv2D(6, 5, padding="same", activation="tanh", input_shape=(17, 15, 3)),
        layers.AveragePooling2D(2, padding="same"),
        layers.Conv2D(5, (3, 2), strides=(2, 1), dilation_rate=1, activation=None),
        layers.Conv2D(4, 2, dilation_rate=2, activation="relu"),
        layers.MaxPooling2D((2, 3), strides=1),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])


def signal_model() -> Sequential:
    return Sequential([
        layers.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu", input_shape=(30, 2)),
        layers.MaxPooling1D(2, padding="same"),
        layers.Conv1D(3, 5, strides=2, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])


@pytest.fixture(autouse=True)
def _seeded() -> None:
    set_seed(0)


def _random_example(model: Sequential, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(model.input_shape[1:]).astype(np.float32)


def test_shape_journey_of_the_seed_model() -> None:
    model = seed_model()
    steps = shape_journey(model)
    assert [s.output_shape for s in steps] == [
        (26, 26, 64), (13, 13, 64), (11, 11, 64), (5, 5, 64), (1600,), (128,), (10,)]
    assert all(s.agrees for s in steps)
    assert steps[0].arithmetic[0] == "height: 28 - 3 + 1 = 26"
    assert steps[3].arithmetic[0] == "height: floor((11 - 2) / 2) + 1 = 5"
    assert steps[4].arithmetic == ["5 x 5 x 64 = 1600"]
    assert "journey: 28 -> 26 -> 13 -> 11 -> 5 -> 1600 -> 128 -> 10" in format_shape_journey(steps)


def test_shape_journey_32_to_28_with_six_5x5_filters() -> None:
    model = Sequential([layers.Conv2D(6, (5, 5), input_shape=(32, 32, 1))])
    (step,) = shape_journey(model)
    assert step.output_shape == (28, 28, 6)
    assert step.arithmetic == ["height: 32 - 5 + 1 = 28", "width: 32 - 5 + 1 = 28", "channels: filters = 6"]
    assert feature_maps(model, np.zeros((32, 32, 1)))[0].maps.shape == (28, 28, 6)


@pytest.mark.parametrize("build", [seed_model, mixed_model, signal_model])
def test_shape_journey_agrees_with_engine(build: object) -> None:
    model = build()  # type: ignore[operator]
    assert all(step.agrees for step in shape_journey(model))


@pytest.mark.parametrize("build", [seed_model, mixed_model, signal_model])
def test_conv_steps_agree_with_engine_everywhere_sampled(build: object) -> None:
    model = build()  # type: ignore[operator]
    example = _random_example(model)
    rng = np.random.default_rng(1)
    maps = feature_maps(model, example)
    for index, layer in enumerate(model.layers):
        kind = type(layer).__name__
        if kind not in ("Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling2D"):
            continue
        output = maps[index].maps
        for _ in range(10):
            position = tuple(int(rng.integers(0, n)) for n in output.shape[:-1])
            channel = int(rng.integers(0, output.shape[-1]))
            if kind.startswith("Conv"):
                steps = conv_steps(model, example, position=position, filter=channel, layer=index)
                assert len(steps.terms) == np.prod(layer.get_weights()[0].shape[:-1])
            else:
                steps = pool_steps(model, example, position=position, channel=channel, layer=index)
            assert steps.engine_output == pytest.approx(float(output[(*position, channel)]))
            assert abs(steps.output - steps.engine_output) <= 1e-5
            assert steps.agrees


def test_dense_steps_agree_and_softmax_uses_all_units() -> None:
    model = seed_model()
    example = _random_example(model)
    probabilities = model.predict(example[None], verbose=0)[0]
    for unit in range(10):
        steps = dense_steps(model, example, unit=unit)
        assert steps.activation == "softmax"
        assert steps.output == pytest.approx(probabilities[unit], abs=1e-6)
        assert abs(steps.output - steps.engine_output) <= 1e-5
    hidden = dense_steps(model, example, unit=5, layer="dense")
    assert hidden.inputs.shape == (1600,)
    assert hidden.weighted_sum == pytest.approx(float(hidden.products.sum()))
    assert "other 1588 terms" in hidden.text()


def test_conv_steps_text_tables_the_channels_and_shows_the_engine() -> None:
    model = seed_model()
    text = conv_steps(model, _random_example(model), position=(2, 3), filter=7, layer="conv2d_1").text()
    assert text.startswith("Conv2D 'conv2d_1', filter 7, output position (2, 3)")
    assert text.count("Channel ") == 3 and "... 56 more channels add" in text
    assert "Total = " in text and "Plus bias" in text and "relu(" in text and "(agrees;" in text


def test_steps_errors_name_the_layer_and_fix() -> None:
    model = seed_model()
    example = _random_example(model)
    with pytest.raises(ValueError, match=r"position \(26, 0\) is outside the \(26, 26\) output"):
        conv_steps(model, example, position=(26, 0))
    with pytest.raises(ValueError, match="'dense' is a Dense; expected one of Conv1D, Conv2D"):
        conv_steps(model, example, position=(0, 0), layer="dense")
    with pytest.raises(ValueError, match="no Conv1D, Conv2D, .* 'nope'.*Layers: 0:conv2d"):
        conv_steps(model, example, position=(0, 0), layer="nope")
    with pytest.raises(ValueError, match=r"expected one example shaped \(28, 28, 1\)"):
        conv_steps(model, np.zeros((2, 28, 28, 1)), position=(0, 0))
    with pytest.raises(ValueError, match="unit 10 does not exist"):
        dense_steps(model, example, unit=10)


def test_feature_maps_and_filters() -> None:
    model = seed_model()
    example = _random_example(model)
    maps = feature_maps(model, example)
    assert [m.maps.shape for m in maps] == [
        (26, 26, 64), (13, 13, 64), (11, 11, 64), (5, 5, 64), (1600,), (128,), (10,)]
    np.testing.assert_allclose(maps[-1].maps, model.predict(example[None], verbose=0)[0], atol=1e-6)
    # the first map is the reference convolution of the input with the layer's own weights
    kernel, bias = model.layers[0].get_weights()
    expected = reference.relu(reference.conv2d(example, kernel, bias))
    np.testing.assert_allclose(maps[0].maps, expected, atol=1e-5)
    assert [m.layer for m in feature_maps(model, example, layers=["conv2d_1", 0])] == ["conv2d", "conv2d_1"]
    filters = learned_filters(model, "conv2d_1")
    assert filters.kernel.shape == (3, 3, 64, 64) and filters.bias.shape == (64,)
    assert filters.filter(3).shape == (3, 3, 64)


def test_gradient_saliency_matches_captum() -> None:
    captum = pytest.importorskip("captum.attr")
    model = seed_model()
    example = _random_example(model)
    ours = gradient_saliency(model, example, target=4)
    inputs = torch.from_numpy(example[None]).requires_grad_(True)
    attribution = captum.Saliency(lambda t: model(t, logits=True)).attribute(inputs, target=4, abs=True)
    theirs = attribution[0].amax(dim=-1).numpy()
    # Two float32 backward passes (kernels and thread counts may order the sums differently):
    # equal to float32 rounding of the largest gradient.
    np.testing.assert_allclose(ours.heatmap, theirs, rtol=1e-5, atol=1e-5 * float(theirs.max()))
    assert ours.heatmap.shape == (28, 28)
    assert ours.score == pytest.approx(float(model(inputs, logits=True)[0, 4].detach()), rel=1e-5)


def test_grad_cam_points_at_the_evidence() -> None:
    # one 1x1 conv that copies the image, global average pooling, and a Dense whose class 1
    # reads that channel: Grad-CAM for class 1 must be the image itself, scaled to [0, 1]
    model = Sequential([
        layers.Conv2D(1, 1, activation="relu", input_shape=(8, 8, 1)),
        layers.GlobalAveragePooling2D(),
        layers.Dense(2, activation="softmax"),
    ])
    model.layers[0].set_weights([np.ones((1, 1, 1, 1)), np.zeros(1)])
    model.layers[2].set_weights([np.array([[0.0, 2.0]]), np.zeros(2)])
    image = np.zeros((8, 8, 1), dtype=np.float32)
    image[1:3, 5:7, 0] = [[1.0, 0.5], [0.25, 1.0]]
    cam = grad_cam(model, image, target=1)
    assert cam.layer == "conv2d"
    np.testing.assert_allclose(cam.coarse, image[..., 0] * 2.0 / 64, rtol=1e-6)
    np.testing.assert_allclose(cam.heatmap, image[..., 0], atol=1e-6)
    assert grad_cam(model, image, target=0).heatmap.max() == 0  # class 0 has no evidence


def test_signal_saliency_and_grad_cam_are_one_dimensional() -> None:
    model = signal_model()
    example = _random_example(model)
    assert gradient_saliency(model, example).heatmap.shape == (30,)
    cam = grad_cam(model, example)
    assert cam.heatmap.shape == (30,) and cam.layer == "conv1d_1"
    with pytest.raises(ValueError, match="target class 3 does not exist"):
        grad_cam(model, example, target=3)


def test_dense_steps_on_a_sequence_and_on_maps_work_one_position_out() -> None:
    rng = np.random.default_rng(3)
    model = Sequential([layers.Input((6, 5, 3)), layers.Dense(4, activation="tanh", bias_initializer="ones")])
    x = rng.standard_normal((6, 5, 3)).astype(np.float32)
    steps = dense_steps(model, x, unit=2, position=(4, 1))
    kernel, bias = model.layers[0].get_weights()
    expected = np.tanh(x[4, 1].astype(np.float64) @ kernel[:, 2] + bias[2])
    assert steps.position == (4, 1) and steps.output == pytest.approx(expected, abs=1e-6) and steps.agrees
    assert steps.text().startswith("Dense 'dense', unit 2 at position (4, 1), 3 inputs")
    assert dense_steps(model, x, unit=2).position == (0, 0)
    with pytest.raises(ValueError, match=r"position \(6, 0\) does not exist; Dense 'dense' works on input shape "
                                         r"\(1, 6, 5, 3\), positions \(6, 5\)"):
        dense_steps(model, x, position=(6, 0))
