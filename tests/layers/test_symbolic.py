"""Calling layers on symbolic tensors: Input/InputLayer, nodes, `layer.input`/`layer.output`,
shared layers and the errors a user meets first."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convscope import layers
from convscope.layers import LAYERS, InputLayer
from convscope.layers.symbolic import History, SymbolicTensor


def test_input_is_a_symbolic_tensor_made_by_an_input_layer() -> None:
    inputs = layers.Input((28, 28, 1))
    assert isinstance(inputs, SymbolicTensor)
    assert inputs.shape == (None, 28, 28, 1) and inputs.ndim == 4 and inputs.dtype == "float32"
    layer = inputs.layer
    assert isinstance(layer, InputLayer) and layer.name == "input_layer"
    assert layer.output is inputs and layer.input is inputs
    assert inputs.history == History(layer, 0, 0)
    assert layer.inbound_nodes[0].is_input and layer.count_params() == 0
    assert layers.Input(784, batch_size=32, name="pixels").shape == (32, 784)
    assert layers.Input(batch_shape=(None, 40, 1)).shape == (None, 40, 1)


def test_calling_the_seed_cnn_layers_records_shapes_and_nodes() -> None:
    inputs = layers.Input((28, 28, 1))
    conv = layers.Conv2D(64, 3, activation="relu")
    features = conv(inputs)
    pooled = layers.MaxPooling2D(2)(features)
    assert features.shape == (None, 26, 26, 64) and pooled.shape == (None, 13, 13, 64)
    assert conv.built and conv.count_params() == 640
    assert conv.input is inputs and conv.output is features
    node = conv.inbound_nodes[0]
    assert node.input_tensors == [inputs] and node.output_tensors == [features]
    assert node.parent_nodes == [inputs.layer.inbound_nodes[0]]
    assert inputs.layer.outbound_nodes == [node] and conv.outbound_nodes == [pooled.layer.inbound_nodes[0]]


def test_a_shared_layer_has_one_node_per_call_and_one_set_of_weights() -> None:
    left, right = layers.Input((6,)), layers.Input((6,))
    shared = layers.Dense(4)
    a, b = shared(left), shared(right)
    assert a.history == History(shared, 0, 0) and b.history == History(shared, 1, 0)
    assert shared.output is a and shared.input is left  # the first call, as in Keras
    assert shared.count_params() == 28
    with pytest.raises(ValueError, match=r"Dense 'dense' was built for input shape \(None, 6\); got \(None, 5\)"):
        shared(layers.Input((5,)))


def test_real_tensors_still_run_the_forward_pass() -> None:
    layer = layers.Dense(2, kernel_initializer="ones")
    layer(layers.Input((3,)))
    np.testing.assert_allclose(layer(torch.ones(4, 3)).detach().numpy(), np.full((4, 2), 3.0))


def test_output_of_a_layer_never_called_says_so() -> None:
    with pytest.raises(AttributeError, match=r"The layer conv2d has never been called and thus has no defined "
                                             r"output"):
        layers.Conv2D(8, 3).output  # noqa: B018
    with pytest.raises(AttributeError, match="no defined input"):
        layers.Dense(3).input  # noqa: B018


def test_wrong_shapes_fail_when_the_layer_is_called() -> None:
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d' expects 4-D input"):
        layers.Conv2D(8, 3)(layers.Input((28, 28)))
    with pytest.raises(ValueError, match=r"Input: shape must be a tuple of positive ints"):
        layers.Input((28, -1, 1))
    with pytest.raises(ValueError, match=r"Input: give the shape of one sample"):
        layers.Input()
    with pytest.raises(ValueError, match="mix of symbolic tensors and values"):
        layers.Add()([layers.Input((3,)), torch.ones(2, 3)])
    with pytest.raises(ValueError, match="unexpected call argument"):
        layers.Dense(3)(layers.Input((3,)), mask=None)


def test_symbolic_tensors_have_no_values() -> None:
    x = layers.Input((3,))
    with pytest.raises(TypeError, match=r"layers\.Add\(\)\(\[x, y\]\)"):
        x + x  # noqa: B018
    with pytest.raises(TypeError, match="neither true nor false"):
        bool(x)
    with pytest.raises(TypeError, match="no values to convert"):
        np.asarray(x)


def test_input_layer_config_round_trips_and_reads_older_forms() -> None:
    layer = InputLayer(shape=(28, 28, 1), name="image")
    config = layer.get_config()
    assert config == {"name": "image", "trainable": True, "batch_shape": [None, 28, 28, 1], "dtype": "float32"}
    assert InputLayer.from_config(config).get_config() == config
    # convscope's older configs named the class "Input" and saved shape and batch_size.
    old = LAYERS["Input"].from_config({"name": "input", "trainable": True, "shape": [28, 28, 1], "batch_size": None})
    assert isinstance(old, InputLayer) and old.output.shape == (None, 28, 28, 1)
    assert InputLayer(input_shape=(40, 1)).batch_shape == (None, 40, 1)  # Keras 2
    assert InputLayer(batch_input_shape=[8, 40, 1]).batch_shape == (8, 40, 1)
    with pytest.raises(ValueError, match="sparse=True is not supported"):
        InputLayer(shape=(3,), sparse=True)
