"""Models used as layers: a Sequential or functional model added to a Sequential model or called
in a graph shares its weights with the outer model, freezes with `trainable = False`, trains
through fit, and round-trips through configs and saved folders (Keras's files and Keras's
numbers: tests/keras/test_keras_nested.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from convscope import Model, Sequential, constraints, keras, layers, regularizers
from convscope.models import Functional, load_model, model_from_config
from convscope.models.storage import WEIGHTS_FILE, weight_tensors

RNG = np.random.default_rng(0)


def seed_cnn(filters: int = 64) -> Sequential:
    """The seed CNN (two 64-filter convolutions) without its softmax: a model that outputs logits."""
    return Sequential([layers.Input((28, 28, 1)), layers.Conv2D(filters, 3, activation="relu"),
                       layers.MaxPooling2D(2), layers.Conv2D(filters, 3, activation="relu"), layers.MaxPooling2D(2),
                       layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10)])


def small_base() -> Functional:
    inputs = keras.Input((12, 12, 3))
    x = layers.Conv2D(4, 3, activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, x, name="base")


def transfer_model(base: Functional) -> Functional:
    inputs = keras.Input((12, 12, 3))
    x = base(inputs, training=False)
    x = layers.Dropout(0.2)(x)
    return keras.Model(inputs, layers.Dense(3, activation="softmax")(x))


def images(count: int = 8, shape: tuple[int, ...] = (28, 28, 1)) -> np.ndarray:
    return RNG.normal(size=(count, *shape)).astype(np.float32)


def softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


# -- a model as one layer ----------------------------------------------------------------------
def test_probability_model_of_the_seed_cnn_is_its_softmax() -> None:
    model = seed_cnn()
    probability_model = keras.Sequential([model, layers.Softmax()])
    assert probability_model.layers == [model, probability_model.layers[1]]
    assert probability_model.input_shape == (None, 28, 28, 1) and probability_model.output_shape == (None, 10)
    x = images()
    np.testing.assert_allclose(probability_model.predict(x), softmax(model.predict(x)), atol=1e-6)
    assert probability_model.count_params() == model.count_params() == 243_786


def test_outer_weights_are_the_inner_models_parameters() -> None:
    model = seed_cnn(8)
    outer = Sequential([model, layers.Softmax()])
    assert [id(weight) for weight in outer.weights] == [id(weight) for weight in model.weights]
    assert {id(parameter) for parameter in outer.parameters()} == {id(parameter) for parameter in model.parameters()}
    outer.set_weights([weight * 0 + 0.5 for weight in outer.get_weights()])
    assert all(np.all(weight == 0.5) for weight in model.get_weights())
    names = [name for name, _, _ in model.keras_weights()]
    assert names[:2] == ["conv2d/kernel", "conv2d/bias"] and names[-1] == "dense_1/bias"


def test_model_called_on_arrays_and_tensors_inside_and_out() -> None:
    model = seed_cnn(4)
    x = images(3)
    expected = model.predict(x)
    with torch.no_grad():
        np.testing.assert_allclose(model(x).numpy(), expected, atol=1e-6)
        np.testing.assert_allclose(model(torch.as_tensor(x)).numpy(), expected, atol=1e-6)


def test_training_false_on_arrays_runs_in_inference_mode() -> None:
    inner = Sequential([layers.Input((6,)), layers.Dropout(0.9)])
    inner.train()
    ones = np.ones((4, 6), np.float32)
    with torch.no_grad():
        assert torch.equal(inner(ones, training=False), torch.ones(4, 6))
        assert not torch.equal(inner(ones, training=True), torch.ones(4, 6))
    assert inner.training  # the mode is restored


def test_unbuilt_inner_model_is_built_by_the_outer_one() -> None:
    inner = Sequential([layers.Dense(4, activation="relu")])
    outer = Sequential([inner, layers.Dense(2)])
    assert not inner.built
    outer.build((None, 3))
    assert inner.input_shape == (None, 3) and outer.output_shape == (None, 2)
    assert outer.count_params() == 3 * 4 + 4 + 4 * 2 + 2


def test_adding_a_model_twice_or_to_itself_is_refused() -> None:
    inner = seed_cnn(4)
    outer = Sequential([inner])
    with pytest.raises(ValueError, match="already in the model"):
        outer.add(inner)
    with pytest.raises(ValueError, match="already in the model"):
        outer.add(outer)


def test_wrong_input_shape_for_a_called_model_names_it() -> None:
    model = seed_cnn(4)
    with pytest.raises(ValueError, match="Sequential 'sequential' was built for input shape"):
        model(keras.Input((32, 32, 3)))
    with pytest.raises(ValueError, match=r"Sequential 'sequential' expects 4-D input .* got shape \(None, 10\)"):
        Sequential([layers.Input((10,)), model])


# -- functional graphs -------------------------------------------------------------------------
def test_autoencoder_calls_encoder_and_decoder_on_symbolic_tensors() -> None:
    encoder = Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, padding="same", activation="relu"),
                          layers.MaxPooling2D(2)], name="encoder")
    decoder = Sequential([layers.Input((4, 4, 4)), layers.UpSampling2D(2),
                          layers.Conv2D(1, 3, padding="same", activation="sigmoid")], name="decoder")
    inputs = keras.Input((8, 8, 1))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    assert [layer.name for layer in autoencoder.layers] == ["input_layer", "encoder", "decoder"]
    x = images(5, (8, 8, 1))
    np.testing.assert_allclose(autoencoder.predict(x), decoder.predict(encoder.predict(x)), atol=1e-6)


def test_model_with_two_outputs_called_in_a_graph() -> None:
    inputs = keras.Input((6,))
    hidden = layers.Dense(5, activation="relu")(inputs)
    twin = keras.Model(inputs, [layers.Dense(2)(hidden), layers.Dense(3)(hidden)], name="twin")
    outer_inputs = keras.Input((6,))
    first, second = twin(outer_inputs)
    assert (first.shape, second.shape) == ((None, 2), (None, 3))
    outer = keras.Model(outer_inputs, layers.Concatenate()([first, second]))
    x = RNG.normal(size=(4, 6)).astype(np.float32)
    np.testing.assert_allclose(outer.predict(x), np.concatenate(twin.predict(x), axis=-1), atol=1e-6)


def test_transfer_model_records_training_false_and_round_trips_it() -> None:
    model = transfer_model(small_base())
    node = model.get_layer("base").inbound_nodes[0]
    assert node.training is False
    config = model.get_config()
    assert config["layers"][1]["inbound_nodes"][0]["kwargs"] == {"training": False}
    rebuilt = Functional.from_config(config)
    assert rebuilt.get_layer("base").inbound_nodes[0].training is False
    assert rebuilt.get_config() == config


# -- freezing and training ---------------------------------------------------------------------
def test_frozen_base_counts_as_non_trainable_and_fit_leaves_it_be() -> None:
    base = small_base()
    base.trainable = False
    model = transfer_model(base)
    data = model.summary_data()
    assert (data["trainable_params"], data["non_trainable_params"]) == (4 * 3 + 3, base.count_params())
    assert [row["name"] for row in data["rows"]] == ["input_layer", "base", "dropout", "dense"]
    assert model.trainable_weights == [model.get_layer("dense").kernel, model.get_layer("dense").bias]
    before = [weight.copy() for weight in base.get_weights()]  # moving statistics included
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(images(16, (12, 12, 3)), RNG.integers(0, 3, 16), epochs=2, batch_size=8, verbose=0)
    for old, new in zip(before, base.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_unfrozen_base_trains_through_the_outer_model() -> None:
    base = small_base()
    model = transfer_model(base)
    assert len(model.trainable_weights) == 2 + 2 + 2  # conv, gamma/beta, dense
    before = [weight.copy() for weight in base.get_weights()]
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(images(16, (12, 12, 3)), RNG.integers(0, 3, 16), epochs=2, batch_size=8, verbose=0)
    assert all(not np.array_equal(old, new) for old, new in zip(before, base.get_weights(), strict=True))
    assert np.isfinite(history.history["loss"]).all()
    loss = model.evaluate(images(4, (12, 12, 3)), RNG.integers(0, 3, 4), verbose=0)
    assert np.isfinite(loss)


def test_freezing_a_model_freezes_its_layers_and_unfreezing_restores_them() -> None:
    model = seed_cnn(4)
    outer = Sequential([model, layers.Softmax()])
    model.trainable = False
    assert not any(layer.trainable for layer in model.layers)
    assert outer.trainable_weights == [] and len(outer.non_trainable_weights) == len(outer.weights)
    assert not any(parameter.requires_grad for parameter in outer.parameters())
    model.trainable = True
    assert len(outer.trainable_weights) == len(outer.weights)


def test_a_frozen_layer_inside_a_trainable_model_stays_out_of_trainable_weights() -> None:
    model = seed_cnn(4)
    model.layers[0].trainable = False
    outer = Sequential([model, layers.Softmax()])
    assert len(outer.trainable_weights) == len(outer.weights) - 2
    assert outer.summary_data()["non_trainable_params"] == model.layers[0].count_params()


def test_frozen_batch_normalization_uses_its_moving_statistics_while_training() -> None:
    layer = layers.BatchNormalization()
    x = torch.as_tensor(images(8, (4, 4, 2)) * 3 + 1)
    layer.build((None, 4, 4, 2))
    layer.trainable = False
    layer.train()
    frozen = layer(x)
    layer.eval()
    np.testing.assert_allclose(frozen.detach().numpy(), layer(x).detach().numpy())
    assert torch.equal(layer.moving_mean, torch.zeros(2))  # not updated


def test_inner_constraints_and_regularizers_reach_the_outer_training() -> None:
    inner = Sequential([layers.Input((5,)), layers.Dense(4, kernel_constraint=constraints.NonNeg(),
                                                         kernel_regularizer=regularizers.L2(0.1))])
    outer = Sequential([inner, layers.Dense(1)])
    assert len(outer.losses) == 1
    expected = 0.1 * float((inner.layers[0].kernel.detach() ** 2).sum())
    np.testing.assert_allclose(float(outer.losses[0].detach()), expected, rtol=1e-5)
    outer.compile("sgd", "mse")
    assert outer.compiled is not None and outer.compiled.constrained_layers == [inner]
    outer.fit(RNG.normal(size=(32, 5)).astype(np.float32), RNG.normal(size=(32, 1)), epochs=3, verbose=0)
    assert (inner.layers[0].kernel >= 0).all()


# -- configs and saving ------------------------------------------------------------------------
def test_config_nests_the_inner_models_config() -> None:
    model = seed_cnn(4)
    outer = Sequential([model, layers.Softmax()], name="probability")
    config = outer.get_config()
    assert config["layers"][0] == {"class_name": "Sequential", "config": model.get_config()}
    rebuilt = Sequential.from_config(config)
    assert isinstance(rebuilt.layers[0], Sequential) and rebuilt.get_config() == config
    rebuilt.set_weights(outer.get_weights())
    x = images(3)
    np.testing.assert_allclose(rebuilt.predict(x), outer.predict(x), atol=1e-6)


def test_frozen_inner_model_round_trips_through_its_config() -> None:
    base = small_base()
    base.trainable = False
    rebuilt = model_from_config(transfer_model(base).get_config())
    assert not rebuilt.get_layer("base").trainable
    assert rebuilt.summary_data()["non_trainable_params"] == base.count_params()


def test_saved_folder_keys_inner_weights_by_path_and_loads_back(tmp_path: Path) -> None:
    model = seed_cnn(4)
    outer = Sequential([model, layers.Softmax()])
    assert list(weight_tensors(outer))[:2] == ["sequential/conv2d/kernel", "sequential/conv2d/bias"]
    outer.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    outer.fit(images(16), RNG.integers(0, 10, 16), epochs=1, batch_size=8, verbose=0)
    outer.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    x = images(4)
    np.testing.assert_allclose(loaded.predict(x), outer.predict(x), atol=1e-6)
    assert isinstance(loaded.layers[0], Sequential)
    loaded.fit(images(16), RNG.integers(0, 10, 16), epochs=1, batch_size=8, verbose=0)  # resumes training


def test_weights_file_of_another_inner_model_is_refused(tmp_path: Path) -> None:
    outer = Sequential([seed_cnn(4), layers.Softmax()])
    outer.save(tmp_path / "model")
    other = Sequential([seed_cnn(8), layers.Softmax()])
    other.save(tmp_path / "other")
    (tmp_path / "model" / WEIGHTS_FILE).write_bytes((tmp_path / "other" / WEIGHTS_FILE).read_bytes())
    with pytest.raises(ValueError, match=r"Sequential 'sequential' conv2d/kernel: the config asks for shape "
                                         r"\(3, 3, 1, 4\); the file holds \(3, 3, 1, 8\)"):
        load_model(tmp_path / "model")


def test_bad_inner_config_is_refused_naming_the_layer() -> None:
    config = Sequential([seed_cnn(4), layers.Softmax()]).get_config()
    config["layers"][0]["config"]["layers"][0]["class_name"] = "NoSuchLayer"
    with pytest.raises(ValueError, match=r"layer 0 \(Sequential 'sequential'\).*NoSuchLayer"):
        model_from_config(config)


def test_huge_inner_config_is_refused_before_allocating() -> None:
    inner = {"name": "huge", "input_shape": [100_000], "layers": [
        {"class_name": "Dense", "config": {"units": 100_000}}] * 3}
    config = {"name": "outer", "input_shape": [100_000],
              "layers": [{"class_name": "Sequential", "config": inner}, {"class_name": "Softmax", "config": {}}]}
    with pytest.raises(ValueError, match="refusing to allocate"):
        model_from_config(config)


def test_keras_file_round_trip_of_a_nested_model(tmp_path: Path) -> None:
    base = small_base()
    model = transfer_model(base)
    x = images(3, (12, 12, 3))
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"m{suffix}")
        loaded = load_model(tmp_path / f"m{suffix}")
        assert isinstance(loaded, Model) and isinstance(loaded.get_layer("base"), Functional)
        np.testing.assert_allclose(loaded.predict(x), model.predict(x), atol=1e-6)


# -- export --------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:.*torch.jit.* is deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", ["probability", "transfer"])
def test_nested_models_export_to_torchscript_and_onnx(name: str, tmp_path: Path) -> None:
    from convscope.export import onnx_predict

    if name == "probability":
        model: Model = Sequential([seed_cnn(4), layers.Softmax()])
        x = images(5)
    else:
        model = transfer_model(small_base())
        x = images(5, (12, 12, 3))
    expected = model.predict(x)
    with torch.no_grad():
        traced = torch.jit.load(str(model.export(tmp_path / "m.pt")))(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(traced, expected, atol=1e-6)
    np.testing.assert_allclose(onnx_predict(model.export(tmp_path / "m.onnx"), x), expected, atol=1e-5)


def test_model_with_two_inputs_called_in_a_graph_and_rebuilt_from_its_config() -> None:
    left, right = keras.Input((3,)), keras.Input((4,))
    pair = keras.Model([left, right], layers.Dense(2)(layers.Concatenate()([left, right])), name="pair")
    x, y = keras.Input((3,)), keras.Input((4,))
    outer = keras.Model([x, y], layers.Dense(1)(pair([x, y])))
    assert [row["connected_to"] for row in outer.summary_data()["rows"]][2] == "input_layer[0][0], input_layer_1[0][0]"
    arrays = [RNG.normal(size=(5, 3)).astype(np.float32), RNG.normal(size=(5, 4)).astype(np.float32)]
    rebuilt = Functional.from_config(outer.get_config())
    rebuilt.set_weights(outer.get_weights())
    np.testing.assert_allclose(rebuilt.predict(arrays), outer.predict(arrays), atol=1e-6)
    with pytest.raises(ValueError, match="Functional 'pair' takes 2 input"):
        pair(x)


def test_summary_counts_the_inner_models_multiply_accumulates() -> None:
    model = seed_cnn(4)
    outer = Sequential([model, layers.Softmax()])
    assert outer.summary_data()["total_macs"] == model.summary_data()["total_macs"] > 0
