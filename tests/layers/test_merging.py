"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate): values against
NumPy, shapes on symbolic tensors, Keras's shape errors naming the layer, config round trips.
Their values against real Keras are in tests/keras/test_keras_functional.py (merges fixture)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from convscope import layers
from convscope.layers import LAYERS

RNG = np.random.default_rng(0)
A, B, C = (RNG.normal(size=(3, 4, 4, 2)).astype(np.float32) for _ in range(3))

ELEMENTWISE: dict[str, tuple[type[layers.Layer], Callable[..., Any], Callable[[list[np.ndarray]], np.ndarray]]] = {
    "Add": (layers.Add, layers.add, lambda xs: xs[0] + xs[1] + xs[2]),
    "Multiply": (layers.Multiply, layers.multiply, lambda xs: xs[0] * xs[1] * xs[2]),
    "Average": (layers.Average, layers.average, lambda xs: (xs[0] + xs[1] + xs[2]) / 3),
    "Maximum": (layers.Maximum, layers.maximum, lambda xs: np.maximum(np.maximum(xs[0], xs[1]), xs[2])),
    "Minimum": (layers.Minimum, layers.minimum, lambda xs: np.minimum(np.minimum(xs[0], xs[1]), xs[2])),
}


def run(layer: layers.Layer, arrays: list[np.ndarray]) -> np.ndarray:
    return layer([torch.from_numpy(array) for array in arrays]).detach().numpy()


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_merge_of_three_feature_maps(name: str) -> None:
    layer_class, _, reference = ELEMENTWISE[name]
    np.testing.assert_allclose(run(layer_class(), [A, B, C]), reference([A, B, C]), rtol=1e-6)


def test_subtract_takes_exactly_two_inputs() -> None:
    np.testing.assert_allclose(run(layers.Subtract(), [A, B]), A - B)
    inputs = [layers.Input((4, 4, 2)) for _ in range(3)]
    with pytest.raises(ValueError, match=r"Subtract 'subtract'.*exactly 2 inputs"):
        layers.Subtract()(inputs)


def test_concatenate_joins_channels_and_any_axis() -> None:
    wide = RNG.normal(size=(3, 4, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(run(layers.Concatenate(), [A, wide]), np.concatenate([A, wide], axis=-1))
    np.testing.assert_array_equal(run(layers.Concatenate(axis=1), [A, B]), np.concatenate([A, B], axis=1))


def test_broadcasting_as_keras() -> None:
    # Sizes of 1 stretch; a lower-rank input gains axes after the batch axis: (b, 2) meets (b, 4, 4, 2).
    ones_axis = RNG.normal(size=(3, 1, 4, 2)).astype(np.float32)
    np.testing.assert_allclose(run(layers.Add(), [A, ones_axis]), A + ones_axis)
    per_channel = RNG.normal(size=(3, 2)).astype(np.float32)
    np.testing.assert_allclose(run(layers.Multiply(), [A, per_channel]), A * per_channel[:, None, None, :])
    assert layers.Multiply()([layers.Input((4, 4, 2)), layers.Input((2,))]).shape == (None, 4, 4, 2)


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_symbolic_shapes_and_the_function_form(name: str) -> None:
    layer_class, function, _ = ELEMENTWISE[name]
    x, y = layers.Input((8, 8, 4)), layers.Input((8, 8, 4))
    merged = function([x, y], name=f"my_{name.lower()}")
    assert merged.shape == (None, 8, 8, 4)
    assert isinstance(merged.layer, layer_class) and merged.layer.name == f"my_{name.lower()}"
    assert merged.layer.input == [x, y]


def test_concatenate_shapes() -> None:
    branches = [layers.Input((12, 12, channels)) for channels in (4, 6, 4, 4)]
    assert layers.concatenate(branches).shape == (None, 12, 12, 18)
    assert layers.Concatenate(axis=1)([layers.Input((3, 5)), layers.Input((4, 5))]).shape == (None, 7, 5)
    assert layers.Concatenate()([layers.Input((3, None)), layers.Input((3, 2))]).shape == (None, 3, None)


def test_incompatible_shapes_raise_keras_errors_naming_the_layer() -> None:
    x, y = layers.Input((8, 8, 4)), layers.Input((8, 8, 5))
    with pytest.raises(ValueError, match=r"Add 'add': inputs have incompatible shapes\. Received shapes "
                                         r"\(8, 8, 4\) and \(8, 8, 5\)"):
        layers.Add()([x, y])
    with pytest.raises(ValueError, match=r"Concatenate 'concatenate': .*matching shapes except for the "
                                         r"concatenation axis"):
        layers.Concatenate()([layers.Input((8, 8, 4)), layers.Input((4, 4, 4))])
    with pytest.raises(ValueError, match=r"Concatenate 'join': .*one rank"):
        layers.Concatenate(name="join")([layers.Input((8, 8, 4)), layers.Input((8, 4))])
    with pytest.raises(ValueError, match="different batch sizes"):
        layers.Add()([layers.Input((4,), batch_size=2), layers.Input((4,), batch_size=3)])


def test_a_merge_needs_a_list_and_other_layers_one_tensor() -> None:
    x = layers.Input((4,))
    with pytest.raises(ValueError, match=r"Add 'add': a merge layer should be called on a list of inputs"):
        layers.Add()(x)
    with pytest.raises(ValueError, match=r"a merge layer should be called on a list of inputs"):
        layers.Add()(torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"Dense 'dense' takes one input tensor; got 2.*Concatenate"):
        layers.Dense(3)([x, x])
    with pytest.raises(ValueError, match=r"Add 'add': inputs have incompatible shapes"):
        layers.Add()([torch.ones(2, 4), torch.ones(2, 5)])


def test_a_built_merge_checks_shapes_at_run_time() -> None:
    layer = layers.Add()
    layer([layers.Input((4,)), layers.Input((4,))])
    assert layer([torch.ones(2, 4), torch.ones(2, 4)]).shape == (2, 4)
    with pytest.raises(ValueError, match="incompatible shapes"):
        layer([torch.ones(2, 4), torch.ones(2, 3)])


def test_gradients_flow_to_every_input() -> None:
    x, y = torch.ones(2, 3, requires_grad=True), torch.full((2, 3), 2.0, requires_grad=True)
    layers.Concatenate()([x * 3, y]).sum().backward()
    layers.Multiply()([x, y]).sum().backward()
    assert x.grad is not None and y.grad is not None
    np.testing.assert_allclose(x.grad.numpy(), 3 + 2)  # 3 from the concatenation, y from the product
    np.testing.assert_allclose(y.grad.numpy(), 1 + 1)


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"])
def test_config_round_trip_and_registry(name: str) -> None:
    layer_class = LAYERS[name]
    layer = layer_class(name="merge_me", **({"axis": 1} if name == "Concatenate" else {}))
    config = layer.get_config()
    assert config["name"] == "merge_me" and layer.count_params() == 0 and layer.get_weights() == []
    assert layer_class.from_config(config).get_config() == config
    if name == "Concatenate":
        assert config["axis"] == 1
