"""Bad input gets a ValueError naming the layer or argument, the expected and received value,
and the likely fix. The messages are pinned here."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from convscope import Sequential, layers, zoo


def seed_model() -> Sequential:
    return zoo.build("seed-cnn")


def compiled(loss: str = "sparse_categorical_crossentropy") -> Sequential:
    model = seed_model()
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def test_wrong_rank_into_conv2d() -> None:
    with pytest.raises(ValueError, match=re.escape(
            "Conv2D 'conv2d' expects 4-D input (batch, height, width, channels); got shape (28, 28). "
            "Add a batch and a channel axis: x.reshape(-1, 28, 28, 1).")):
        seed_model().predict(np.zeros((28, 28), dtype=np.float32))


def test_missing_channel_axis() -> None:
    with pytest.raises(ValueError, match=re.escape("got shape (5, 28, 28). Add the channel axis: x.reshape(-1, 28, 28, 1)")):
        seed_model().predict(np.zeros((5, 28, 28), dtype=np.float32))


@pytest.mark.parametrize(("model", "shape"), [
    pytest.param("seed-cnn", (5, 28, 28), id="seed CNN, batch without channels"),
    pytest.param("seed-cnn", (28, 28), id="seed CNN, one image without channels"),
    pytest.param("mnist1d-cnn", (8, 40), id="Conv1D, batch without channels"),
    pytest.param("seed-cnn", (28, 28, 1), id="seed CNN, one image without batch"),
    pytest.param("seed-cnn-rgb", (32, 32, 3), id="RGB, one image without batch"),
    pytest.param("mnist1d-cnn-4", (40, 4), id="Conv1D on 4 channels, one signal"),
])
def test_a_missing_axis_gets_a_reshape_to_the_models_input_shape(model: str, shape: tuple[int, ...]) -> None:
    built = {"seed-cnn-rgb": lambda: zoo.build("seed-cnn", (32, 32, 3)),
             "mnist1d-cnn-4": lambda: zoo.build("mnist1d-cnn", (40, 4))}.get(model, lambda: zoo.build(model))()
    expected = tuple(built.input_shape[1:])
    with pytest.raises(ValueError, match=re.escape(f"got shape {shape}.")) as error:
        built.predict(np.zeros(shape, dtype=np.float32))
    suggested = [tuple(int(n) for n in sizes.split(","))
                 for sizes in re.findall(r"x\.reshape\(-1, ([\d, ]+)\)", str(error.value))]
    assert suggested or "x[None]" in str(error.value)
    assert all(sizes == expected for sizes in suggested), (suggested, expected)


def test_grayscale_images_for_an_rgb_model_are_not_told_to_add_a_one_channel_axis() -> None:
    with pytest.raises(ValueError, match=re.escape("got shape (4, 32, 32).")) as error:
        zoo.build("seed-cnn", (32, 32, 3)).predict(np.zeros((4, 32, 32), dtype=np.float32))
    message = str(error.value)
    assert "reshape(-1, 32, 32, 1)" not in message  # the model takes 3 channels: that fails next
    assert re.search(r"\b3 channels|\(None, 32, 32, 3\)", message)


def test_channels_on_wrong_axis() -> None:
    with pytest.raises(ValueError, match=re.escape(
            "x has shape (4, 1, 28, 28) but the model expects (None, 28, 28, 1). The channels seem to be on "
            "axis 1 (channels-first); convscope, like Keras, expects channels last: x = x.transpose(0, 2, 3, 1).")):
        seed_model().predict(np.zeros((4, 1, 28, 28), dtype=np.float32))


def test_channels_on_wrong_axis_when_calling_the_module() -> None:
    with pytest.raises(ValueError, match="Conv2D 'conv2d' was built for input shape .*channels-first"):
        seed_model()(torch.zeros(2, 1, 28, 28))


def test_kernel_larger_than_input() -> None:
    model = Sequential([layers.Conv2D(8, 3, input_shape=(6, 6, 1)), layers.MaxPooling2D(2)])
    with pytest.raises(ValueError, match=re.escape(
            "Conv2D 'conv2d_1': kernel 5x5 (dilation included) is larger than its 2x2 input with padding='valid'. "
            "Use padding='same', a smaller kernel_size, or fewer pooling/strided layers before it.")):
        model.add(layers.Conv2D(8, 5))


@pytest.mark.parametrize("filters", [0, -3, 2.5])
def test_filters_must_be_positive(filters) -> None:
    with pytest.raises(ValueError, match=re.escape(f"Conv2D: filters must be a positive integer; got {filters!r}.")):
        layers.Conv2D(filters, 3)


def test_unknown_activation_lists_allowed() -> None:
    with pytest.raises(ValueError, match=re.escape(
            "Conv2D: unknown activation 'rlu'. Expected one of: elu, exponential, gelu, hard_sigmoid, hard_silu, "
            "hard_swish, leaky_relu, linear, log_softmax, mish, relu, relu6, selu, sigmoid, silu, softmax, softplus, "
            "softsign, swish, tanh.")):
        layers.Conv2D(8, 3, activation="rlu")


def test_unknown_padding_lists_allowed() -> None:
    with pytest.raises(ValueError, match=re.escape("Conv2D: unknown padding 'full'. Expected one of: valid, same.")):
        layers.Conv2D(8, 3, padding="full")
    with pytest.raises(ValueError, match=re.escape("Conv1D: unknown padding 'full'. Expected one of: valid, same, causal.")):
        layers.Conv1D(8, 3, padding="full")


def test_unknown_loss_and_optimizer() -> None:
    with pytest.raises(ValueError, match=re.escape("compile(loss=...): unknown loss 'crossentropy'. Expected one of: "
                                                   "categorical_crossentropy, sparse_categorical_crossentropy")):
        seed_model().compile(optimizer="adam", loss="crossentropy")
    with pytest.raises(ValueError, match=re.escape("compile(optimizer=...): unknown optimizer 'adamx'. Expected one "
                                                   "of: sgd, adam, adamw, nadam, adamax, rmsprop, adagrad, adadelta, ftrl, lion, adafactor.")):
        seed_model().compile(optimizer="adamx", loss="mse")


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
def test_dense_after_feature_maps_without_flatten(loss: str) -> None:
    # As in Keras, the Dense layer works on each of the 13 x 13 positions; the labels (one per
    # image) then do not fit, and the error says where the Flatten goes.
    model = Sequential([layers.Conv2D(8, 3, input_shape=(28, 28, 1)), layers.MaxPooling2D(2),
                        layers.Dense(10, activation="softmax")])
    assert model.output_shape == (None, 13, 13, 10)
    model.compile(optimizer="adam", loss=loss)
    labels = np.arange(4) % 10
    targets = labels if loss.startswith("sparse") else np.eye(10, dtype=np.float32)[labels]
    with pytest.raises(ValueError, match=re.escape(
            "The output keeps 13 x 13 positions: a Dense layer after feature maps works on each position. "
            "Put Flatten() (or GlobalAveragePooling2D()) before the Dense layers for one prediction per sample.")):
        model.fit(np.zeros((4, 28, 28, 1), np.float32), targets, epochs=1, verbose=0)


def test_sparse_labels_out_of_range() -> None:
    x = np.zeros((3, 28, 28, 1), dtype=np.float32)
    with pytest.raises(ValueError, match=re.escape(
            "loss 'sparse_categorical_crossentropy': labels must be integers in [0, 9] for a model with 10 outputs; "
            "got values from 1 to 10 (e.g. 10). Check the labels, or make the last layer Dense(11).")):
        compiled().fit(x, np.array([1, 2, 10]), verbose=0)


def test_one_hot_width_mismatch() -> None:
    x = np.zeros((3, 28, 28, 1), dtype=np.float32)
    with pytest.raises(ValueError, match=re.escape(
            "loss 'categorical_crossentropy': one-hot targets have width 12 but the model outputs 10 classes.")):
        compiled("categorical_crossentropy").fit(x, np.eye(12)[:3], verbose=0)


def test_integer_labels_with_categorical_loss() -> None:
    with pytest.raises(ValueError, match=re.escape("Use to_categorical(y, 10) or loss='sparse_categorical_crossentropy'")):
        compiled("categorical_crossentropy").fit(np.zeros((3, 28, 28, 1)), np.array([1, 2, 3]), verbose=0)


def test_x_and_y_lengths_differ() -> None:
    with pytest.raises(ValueError, match=re.escape(
            "x has 4 samples but y has 3; they must have the same length (one label per sample).")):
        compiled().fit(np.zeros((4, 28, 28, 1)), np.array([1, 2, 3]), verbose=0)


def test_nan_and_inf_in_x() -> None:
    x = np.zeros((4, 28, 28, 1), dtype=np.float32)
    x[2, 3, 4, 0] = np.nan
    x[3, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match=re.escape(
            "x contains 1 NaN and 1 infinite values (first at index (2, 3, 4, 0)); replace or drop them")):
        compiled().fit(x, np.array([1, 2, 3, 4]), verbose=0)


def test_other_argument_errors() -> None:
    with pytest.raises(ValueError, match=re.escape("Conv2D: kernel_size must be a positive int or a tuple of 2 positive ints; got (3, 0).")):
        layers.Conv2D(4, (3, 0))
    with pytest.raises(ValueError, match="strides > 1 cannot be combined with dilation_rate > 1"):
        layers.Conv2D(4, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="data_format must be 'channels_last' or 'channels_first'; got 'nhwc'"):
        layers.MaxPooling2D(data_format="nhwc")
    with pytest.raises(ValueError, match=re.escape("Dense: units must be a positive integer; got 0.")):
        layers.Dense(0)
    with pytest.raises(ValueError, match="Dropout: rate must be in \\[0, 1\\); got 1.5"):
        layers.Dropout(1.5)
    with pytest.raises(ValueError, match="Conv2D: unknown argument\\(s\\) filter"):
        layers.Conv2D(4, 3, filter=3)
    with pytest.raises(ValueError, match="fit: the model is not compiled"):
        seed_model().fit(np.zeros((1, 28, 28, 1)), np.zeros(1))
    with pytest.raises(ValueError, match="compile: the model's input shape is unknown"):
        Sequential([layers.Dense(3)]).compile(optimizer="adam", loss="mse")


def test_dense_works_on_the_last_axis_as_keras_does() -> None:
    dense = layers.Dense(4, activation="relu")
    x = np.random.default_rng(0).standard_normal((2, 6, 5)).astype(np.float32)
    y = dense(torch.from_numpy(x)).detach().numpy()
    kernel, bias = dense.get_weights()
    assert kernel.shape == (5, 4) and y.shape == (2, 6, 4)
    np.testing.assert_allclose(y, np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"Dense 'dense\w*' expects input with a batch axis and a features axis; "
                                         r"got shape \(None,\)"):
        layers.Dense(2).build((None,))
