"""Functional models: residual and Inception-style graphs, several inputs and outputs, shared
layers, the feature-map idiom, Keras's layer order and names, and training through the engine
(a graph that is a chain trains exactly as the Sequential model with the same weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convscope
from convscope import Model, Sequential, keras, layers
from convscope.models import Functional

RNG = np.random.default_rng(0)


def residual_block_model() -> Functional:
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    y = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(8, 3, padding="same")(y)
    x = layers.ReLU()(layers.Add()([x, y]))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(4, activation="softmax")(x), name="resnet")


def inception_block_model() -> Functional:
    inputs = keras.Input((12, 12, 4))
    branches = [layers.Conv2D(4, 1, activation="relu")(inputs),
                layers.Conv2D(6, 3, padding="same", activation="relu")(layers.Conv2D(3, 1)(inputs)),
                layers.Conv2D(4, 1)(layers.MaxPooling2D(3, strides=1, padding="same")(inputs))]
    x = layers.Flatten()(layers.MaxPooling2D(2)(layers.Concatenate()(branches)))
    return keras.Model(inputs, layers.Dense(3, activation="softmax")(x))


def seed_cnn(filters: int = 64) -> Sequential:
    return Sequential([layers.Input((28, 28, 1)), layers.Conv2D(filters, 3, activation="relu"),
                       layers.MaxPooling2D(2), layers.Conv2D(filters, 3, activation="relu"), layers.MaxPooling2D(2),
                       layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])


def test_model_of_inputs_and_outputs_is_a_functional_model() -> None:
    model = residual_block_model()
    assert isinstance(model, Functional) and isinstance(model, Model) and isinstance(model, torch.nn.Module)
    assert keras.models.Model is convscope.Model is Model
    assert model.name == "resnet" and model.input_shape == (None, 16, 16, 3) and model.output_shape == (None, 4)
    assert [layer.name for layer in model.layers] == [
        "input_layer", "conv2d", "conv2d_1", "conv2d_2", "add", "re_lu", "global_average_pooling2d", "dense"]
    assert model.count_params() == 224 + 2 * 584 + 36
    assert model.inputs == [model.layers[0].output] and model.outputs == [model.layers[-1].output]


def test_residual_forward_is_the_sum_of_both_paths() -> None:
    model = residual_block_model()
    x = RNG.normal(size=(5, 16, 16, 3)).astype(np.float32)
    conv1, conv2, conv3 = (model.get_layer(name) for name in ("conv2d", "conv2d_1", "conv2d_2"))
    with torch.no_grad():
        first = conv1(torch.from_numpy(x))
        merged = torch.relu(first + conv3(conv2(first)))
        expected = model.get_layer("dense")(merged.mean(dim=(1, 2))).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_inception_block_concatenates_the_branches() -> None:
    model = inception_block_model()
    concatenate = next(layer for layer in model.layers if isinstance(layer, layers.Concatenate))
    assert concatenate.output_shape == (None, 12, 12, 14)
    assert model.output_shape == (None, 3) and model.predict(RNG.normal(size=(2, 12, 12, 4))).shape == (2, 3)
    # Keras's order: by depth from the outputs, ties in the order a walk from the outputs met them.
    assert [type(layer).__name__ for layer in model.layers][:5] == ["InputLayer", "Conv2D", "MaxPooling2D",
                                                                    "Conv2D", "Conv2D"]


def test_the_seed_cnn_feature_map_idiom() -> None:
    model = seed_cnn()
    maps = Model(inputs=model.inputs, outputs=[layer.output for layer in model.layers])
    x = RNG.random((3, 28, 28, 1), dtype=np.float32)
    outputs = maps.predict(x)
    assert [array.shape for array in outputs] == [(3, 26, 26, 64), (3, 13, 13, 64), (3, 11, 11, 64),
                                                  (3, 5, 5, 64), (3, 1600), (3, 128), (3, 10)]
    expected = torch.from_numpy(x)
    with torch.no_grad():
        for layer, array in zip(model.layers, outputs):
            expected = layer(expected)
            np.testing.assert_allclose(array, expected.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs[-1], model.predict(x), rtol=1e-5, atol=1e-6)
    assert maps.count_params() == model.count_params() == 243_786  # the same layers, not copies


def test_a_sequential_model_has_inputs_outputs_and_layer_outputs_once_built() -> None:
    model = Sequential([layers.Dense(3), layers.Dense(2)])
    with pytest.raises(ValueError, match="Sequential model 'sequential' has no defined inputs yet"):
        model.inputs  # noqa: B018
    model.build((None, 5))
    assert model.inputs[0].shape == (None, 5) and model.output.shape == (None, 2)
    assert model.layers[1].input is model.layers[0].output
    model.build((None, 7))  # rebuilt for another input: the old nodes go
    assert model.layers[0].input.shape == (None, 7) and len(model.layers[0].inbound_nodes) == 1
    model.add(layers.Dense(4))
    assert model.output is model.layers[2].output and model.output.shape == (None, 4)
    model.pop()
    assert model.output is model.layers[1].output


def test_several_inputs_and_outputs_as_lists_and_dicts() -> None:
    image, extra = keras.Input((6, 6, 1), name="image"), keras.Input((3,), name="extra")
    features = layers.Flatten()(layers.Conv2D(2, 3)(image))
    joined = layers.concatenate([features, layers.Dense(4)(extra)])
    scores, value = layers.Dense(5, activation="softmax", name="scores")(joined), layers.Dense(1, name="value")(joined)
    model = Model(inputs={"image": image, "extra": extra}, outputs={"scores": scores, "value": value})
    # A dict's entries are taken in key order, as Keras flattens them.
    assert model.input_names == ["extra", "image"] and model.output_names == ["scores", "value"]
    x = {"image": RNG.normal(size=(4, 6, 6, 1)), "extra": RNG.normal(size=(4, 3))}
    outputs = model.predict(x, batch_size=3)
    assert set(outputs) == {"scores", "value"} and outputs["scores"].shape == (4, 5) and outputs["value"].shape == (4, 1)
    listed = Model([image, extra], [scores, value])
    as_list = listed.predict([x["image"], x["extra"]])
    np.testing.assert_allclose(as_list[0], outputs["scores"], rtol=1e-5, atol=1e-6)  # other batch sizes
    np.testing.assert_allclose(as_list[1], outputs["value"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"no value for input\(s\) \['extra'\]"):
        model.predict({"image": x["image"]})
    with pytest.raises(ValueError, match="the model has 2 inputs"):
        listed.predict(x["image"])
    with pytest.raises(ValueError, match=r"x\['image'\] has 4 samples but x\['extra'\] has 3"):
        listed.predict([x["image"], x["extra"][:3]])


def test_a_shared_layer_keeps_one_set_of_weights() -> None:
    left, right = keras.Input((6,)), keras.Input((6,))
    shared = layers.Dense(4, activation="tanh", name="shared")
    model = Model([left, right], layers.Subtract()([shared(left), shared(right)]))
    assert model.count_params() == 28 and len(model.weights) == 2 and len(list(model.parameters())) == 2
    a, b = RNG.normal(size=(3, 6)).astype(np.float32), RNG.normal(size=(3, 6)).astype(np.float32)
    with torch.no_grad():
        expected = (shared(torch.from_numpy(a)) - shared(torch.from_numpy(b))).numpy()
    np.testing.assert_allclose(model.predict([a, b]), expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict([a, a]), 0.0)
    assert [(layer.name, len(ins)) for layer, ins, _ in model.nodes_in_order()] == [
        ("input_layer", 0), ("input_layer_1", 0), ("shared", 1), ("shared", 1), ("subtract", 2)]


def test_layers_are_named_in_the_order_they_were_made() -> None:
    inputs = keras.Input((4,))
    second_made_first_called = [layers.Dense(2), layers.Dense(3)]
    x = second_made_first_called[1](inputs)
    model = Model(inputs, second_made_first_called[0](x))
    assert [layer.name for layer in model.layers] == ["input_layer", "dense_1", "dense"]
    clash = keras.Input((4,))
    with pytest.raises(ValueError, match='the name "twin" is used 2 times'):
        Model(clash, layers.Dense(2, name="twin")(layers.Dense(2, name="twin")(clash)))


def test_graph_errors_say_what_is_wrong() -> None:
    inputs, other = keras.Input((4,)), keras.Input((4,))
    outputs = layers.add([layers.Dense(4)(inputs), other])
    with pytest.raises(ValueError, match="Graph disconnected: cannot find parent for tensor"):
        Model(inputs, outputs)
    with pytest.raises(ValueError, match="all `outputs` values must be symbolic tensors"):
        Model(inputs, torch.ones(2, 4))
    with pytest.raises(ValueError, match="all `inputs` values must be symbolic tensors"):
        Model([inputs, np.ones(3)], outputs)
    model = Model([inputs, other], outputs)
    with pytest.raises(ValueError, match=r"Functional 'functional' takes 2 inputs \(input_layer, input_layer_1\)"):
        model.build((None, 4))
    with pytest.raises(ValueError, match=r"InputLayer 'input_layer' was built for input shape \(None, 4\); got"):
        residual = Model(inputs, layers.Dense(2)(inputs))
        residual(torch.ones(2, 5))


def chain(filters: int) -> tuple[Sequential, Functional]:
    """The same small CNN as a Sequential model and as a functional graph, with equal weights."""
    convscope.set_seed(1)
    sequential = seed_cnn(filters)
    inputs = keras.Input((28, 28, 1))
    x = inputs
    for layer in seed_cnn(filters).layers:
        x = layer(x)
    functional = Model(inputs, x)
    functional.set_weights(sequential.get_weights())
    return sequential, functional


def test_a_chain_trains_exactly_as_the_sequential_model() -> None:
    sequential, functional = chain(4)
    x = RNG.random((64, 28, 28, 1), dtype=np.float32)
    y = RNG.integers(0, 10, 64)
    np.testing.assert_allclose(functional.predict(x), sequential.predict(x), rtol=1e-5, atol=1e-7)
    histories = []
    for model in (sequential, functional):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      precision="float32")
        histories.append(model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history)
    assert functional.compiled is not None and functional.compiled.use_logits  # softmax split off for the loss
    np.testing.assert_allclose(histories[1]["loss"], histories[0]["loss"], rtol=1e-5)
    for mine, theirs in zip(functional.get_weights(), sequential.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-6)
    loss, accuracy = functional.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(sequential.evaluate(x, y, verbose=0)[0], rel=1e-5)


def test_relu_before_max_pooling_runs_pooling_first_as_in_sequential() -> None:
    _, functional = chain(4)
    pairs = {functional.graph.pooled[id(node)].layer.name: node.layer.name for node in functional.graph.nodes
             if id(node) in functional.graph.pooled}
    assert pairs == {"max_pooling2d": "conv2d", "max_pooling2d_1": "conv2d_1"}
    x = torch.from_numpy(RNG.random((2, 28, 28, 1), dtype=np.float32))
    expected = functional(x).detach()
    seen: list[torch.Tensor] = []
    handle = functional.get_layer("conv2d").register_forward_hook(lambda layer, args, output: seen.append(output))
    np.testing.assert_allclose(functional(x).detach().numpy(), expected.numpy(), rtol=1e-6)
    handle.remove()
    (output,) = seen  # an observed layer runs whole: the hook sees the convolution's own output
    assert output.shape == (2, 26, 26, 4) and float(output.detach().min()) >= 0.0
    conv_maps = next(outputs[0] for layer, _, outputs in functional.nodes_in_order() if layer.name == "conv2d")
    maps = Model(functional.inputs, [conv_maps, functional.output])  # the conv's maps are shown: no pairing
    assert [node.layer.name for node in maps.graph.nodes if id(node) in maps.graph.pooled] == ["conv2d_1"]


def test_a_residual_model_learns() -> None:
    convscope.set_seed(0)
    model = residual_block_model()
    x = RNG.normal(size=(96, 16, 16, 3)).astype(np.float32)
    y = (x[..., 0].mean(axis=(1, 2)) > 0).astype(np.int64) + 2 * (x[..., 1].mean(axis=(1, 2)) > 0)
    model.compile(optimizer=convscope.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=12, verbose=0, validation_split=0.25)
    assert history.history["loss"][-1] < 0.75 * history.history["loss"][0]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
