"""The layers image, signal and text tutorials add around the convolutions (Lambda, Identity,
Permute, RepeatVector, GaussianNoise, GaussianDropout, Embedding, Normalization, CenterCrop,
RandomCrop, RandomContrast, RandomBrightness), against what real Keras 3.15 computed for the same
inputs and weights (fixtures/tutorial_layers.npz and .json and the model files, written by
make_keras_tutorial_fixtures.py from keras_tutorial_cases.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from keras_layer_checks import (
    FIXTURES,
    KERAS_PYTHON,
    assert_config_matches_keras,
    assert_output_matches_keras,
    assert_shape_and_count_match_keras,
    keras_arrays,
    keras_descriptions,
    real_keras_predicts,
    with_keras_weights,
)
from keras_layer_checks import built as built_case
from keras_tutorial_cases import ADAPT_CASES, CASES

from convscope import Sequential, layers, load_model
from convscope.keras.saving import custom_object_scope, register_keras_serializable
from convscope.layers import Layer

KERAS = keras_descriptions("tutorial_layers")
KERAS_ONLY_KEYS = {"quantization_config"}  # Keras 3 options convscope takes only as None


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return keras_arrays("tutorial_layers")


def built(case: str) -> Layer:
    return built_case(CASES, case)


@pytest.mark.parametrize("case", CASES)
def test_output_matches_keras(case: str, arrays: dict[str, np.ndarray]) -> None:
    layer = with_keras_weights(built(case), case, KERAS, arrays)
    layer.train(CASES[case][3].get("training", False))
    assert_output_matches_keras(layer, case, arrays, atol=1e-4)


@pytest.mark.parametrize("case", CASES)
def test_shape_count_and_config_match_keras(case: str) -> None:
    layer = built(case)
    assert_shape_and_count_match_keras(layer, KERAS[case], name=False)
    theirs = {k: v for k, v in KERAS[case]["config"].items() if k not in KERAS_ONLY_KEYS}
    if CASES[case][0] == "RandomCrop":
        theirs["seed"] = CASES[case][1]["seed"]
    assert_config_matches_keras(layer.get_config(), theirs, skipped=("_initializer",), float_lists=True)


@pytest.mark.parametrize("how", ["array", "batches"])
@pytest.mark.parametrize("case", ADAPT_CASES)
def test_normalization_adapt_matches_keras(case: str, how: str, arrays: dict[str, np.ndarray]) -> None:
    kwargs, _ = ADAPT_CASES[case]
    data = arrays[f"adapt/{case}/data"]
    layer = layers.Normalization(**kwargs)
    layer.adapt(data if how == "array" else [data[:3], data[3:7], data[7:]])
    mean, variance, count = layer.get_weights()
    np.testing.assert_allclose(mean, arrays[f"adapt/{case}/{how}/mean"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(variance, arrays[f"adapt/{case}/{how}/variance"], rtol=1e-5, atol=1e-5)
    assert count.shape == () and count == arrays[f"adapt/{case}/{how}/count"]  # Keras 3 leaves it 0
    layer.eval()
    np.testing.assert_allclose(layer(torch.from_numpy(data[:4])).detach().numpy(), arrays[f"adapt/{case}/{how}/y"],
                               rtol=1e-4, atol=1e-4)


def test_adapt_standardises_and_refuses_mismatched_data() -> None:
    data = np.random.default_rng(0).normal(3.0, 2.0, (200, 4)).astype("float32")
    layer = layers.Normalization()
    layer.adapt(data)
    out = layer(torch.from_numpy(data)).detach().numpy()
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1, atol=1e-4)
    with pytest.raises(ValueError, match=r"Normalization 'normalization\w*' was built for input shape \(None, 4\)"):
        layer.adapt(np.zeros((5, 3), "float32"))
    with pytest.raises(ValueError, match="adapt\\(\\) learns mean and variance, but they were given"):
        layers.Normalization(mean=1.0, variance=2.0).adapt(data)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_text_classifier_from_keras_files(suffix: str) -> None:
    model = load_model(FIXTURES / f"text_conv1d{suffix}")
    with np.load(FIXTURES / "text_conv1d.npz") as saved:
        np.testing.assert_array_equal(model.layers[0].get_weights()[0], saved["embeddings"])
        np.testing.assert_allclose(model.predict(saved["x"], verbose=0), saved["y"], rtol=1e-5, atol=1e-6)
    assert isinstance(model.layers[0], layers.Embedding) and model.layers[0].output_shape == (None, 20, 8)


def test_adapted_normalization_from_a_keras_file() -> None:
    model = load_model(FIXTURES / "normalized.keras")
    with np.load(FIXTURES / "normalized.npz") as saved:
        np.testing.assert_allclose(model.predict(saved["x"], verbose=0), saved["y"], rtol=1e-5, atol=1e-5)
    mean, variance, count = model.layers[0].get_weights()
    assert mean.shape == variance.shape == (4,) and count.shape == ()
    assert variance[2] > 1000  # the third column's spread (100) came from the file, not from defaults


@pytest.mark.keras
@pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
@pytest.mark.parametrize("name", ["text_conv1d", "normalized"])
def test_real_keras_reads_convscope_files_with_these_layers(name: str, tmp_path: Path) -> None:
    load_model(FIXTURES / f"{name}.keras").save(tmp_path / "m.keras")
    predictions, _ = real_keras_predicts(tmp_path / "m.keras", FIXTURES / f"{name}.npz", "x", tmp_path)
    with np.load(FIXTURES / f"{name}.npz") as saved:
        np.testing.assert_allclose(predictions, saved["y"], rtol=1e-5, atol=1e-5)


# -- Lambda: functions are named in files, never run from them ------------------------------------

def test_a_keras_file_with_a_python_lambda_is_refused_with_the_ways_round() -> None:
    with pytest.raises(ValueError, match=r"Lambda 'lambda': the saved function is a Python lambda, which Keras "
                                         r"stores as bytecode; convscope never runs code") as error:
        load_model(FIXTURES / "lambda_anonymous.keras")
    assert "custom_objects={'lambda'" in str(error.value) and "load_weights" in str(error.value)
    model = load_model(FIXTURES / "lambda_anonymous.keras", custom_objects={"lambda": lambda x: x * 2.0})
    np.testing.assert_allclose(model.predict(np.ones((2, 3), "float32"), verbose=0), 2.0)


def test_a_keras_file_with_a_named_function_loads_given_the_function() -> None:
    with pytest.raises(ValueError, match=r"Lambda 'lambda\w*': the function 'shift' is not known\. If 'shift' is "
                                         r"your own function, pass it to load_model\(path, custom_objects="):
        load_model(FIXTURES / "lambda_named.keras")

    def shift(x: torch.Tensor, amount: float = 1.0) -> torch.Tensor:
        return x + amount

    model = load_model(FIXTURES / "lambda_named.keras", custom_objects={"shift": shift})
    with np.load(FIXTURES / "lambda_named.npz") as saved:
        np.testing.assert_allclose(model.predict(saved["x"], verbose=0), saved["y"], rtol=1e-6)


def test_a_saved_lambda_holds_no_code_and_is_refused_on_load(tmp_path: Path) -> None:
    model = Sequential([layers.Input((3,)), layers.Lambda(lambda x: x + 1.0, name="plus_one")])
    function = model.layers[0].get_config()["function"]
    assert function["class_name"] == "__lambda__" and function["config"]["code"] is None
    assert "lambda x: x + 1.0" in function["config"]["source"]  # for people to read
    for path in (tmp_path / "run", tmp_path / "m.keras"):
        model.save(path)
        with pytest.raises(ValueError, match=r"Lambda 'plus_one': the saved function is a Python lambda"):
            load_model(path)
        again = load_model(path, custom_objects={"plus_one": lambda x: x + 1.0})
        np.testing.assert_allclose(again.predict(np.zeros((1, 3), "float32"), verbose=0), 1.0)


@register_keras_serializable(package="TutorialTests")
def crop_steps(x: torch.Tensor, keep: int = 2) -> torch.Tensor:
    return x[:, :keep]


def test_lambda_infers_shapes_runs_arguments_and_round_trips_a_registered_function(tmp_path: Path) -> None:
    layer = layers.Lambda(crop_steps, arguments={"keep": 3})
    model = Sequential([layers.Input((None, 4)), layer])
    assert layer.output_shape == (None, 3, 4)  # the unknown steps axis is cut to a known size
    assert layers.Lambda(lambda x: x.sum(1)).compute_output_shape((None, None, 4)) == (None, 4)
    assert layers.Lambda(lambda x: x.repeat(1, 2, 1)).compute_output_shape((None, None, 4)) == (None, None, 4)
    assert layers.Lambda(lambda x: x, output_shape=(6,)).compute_output_shape((8, 6)) == (8, 6)
    assert layers.Lambda(lambda x: x, output_shape=lambda s: (s[0], 9)).compute_output_shape((8, 6)) == (8, 9)
    assert layer.get_config()["function"] == {"module": __name__, "class_name": "function", "config": "crop_steps",
                                              "registered_name": "TutorialTests>crop_steps"}
    x = np.arange(2 * 5 * 4, dtype="float32").reshape(2, 5, 4)
    model.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(load_model(tmp_path / "m.keras").predict(x, verbose=0), x[:, :3])


def test_lambda_errors_name_the_layer() -> None:
    with pytest.raises(ValueError, match=r"Lambda 'bad': could not infer the output shape .* Pass output_shape"):
        layers.Lambda(lambda x: x.reshape(7, -1), name="bad").build((None, 3))
    with pytest.raises(ValueError, match="Lambda: function must be a function"):
        layers.Lambda(3)
    with pytest.raises(ValueError, match="Lambda: mask is not supported"):
        layers.Lambda(lambda x: x, mask=lambda x, m: m)
    with pytest.raises(ValueError, match="Lambda: arguments must be a dict"):
        layers.Lambda(lambda x: x, arguments=[1])
    with custom_object_scope({}), pytest.raises(ValueError, match="the function 'nowhere' is not known"):
        layers.Lambda("nowhere")


# -- training-only randomness, seeds --------------------------------------------------------------

RANDOM_IN_TRAINING = [
    lambda seed: layers.GaussianNoise(0.5, seed=seed), lambda seed: layers.GaussianDropout(0.3, seed=seed),
    lambda seed: layers.RandomContrast(0.5, seed=seed), lambda seed: layers.RandomBrightness(0.5, seed=seed),
    lambda seed: layers.RandomCrop(5, 6, seed=seed),
]


@pytest.mark.parametrize("make", RANDOM_IN_TRAINING)
def test_randomness_only_in_training_and_repeatable_with_a_seed(make) -> None:
    images = torch.rand(6, 8, 9, 3) * 200 + 20
    layer = make(4).eval()
    expected = images[:, 1:6, 1:7] if isinstance(layer, layers.RandomCrop) else images  # the centre window
    assert torch.equal(layer(images), expected)
    first, second = make(4).train(), make(4).train()
    draw_a, draw_b = first(images), first(images)
    assert torch.equal(second(images), draw_a)
    assert not torch.equal(draw_a, draw_b)


def test_augmentation_draws_follow_keras_ranges() -> None:
    images = torch.rand(400, 4, 4, 1) * 100 + 50
    contrast = layers.RandomContrast(0.5, seed=0).train()(images)
    spread = (contrast - contrast.mean((1, 2), keepdim=True)).std((1, 2)) / \
        (images - images.mean((1, 2), keepdim=True)).std((1, 2))
    assert 1.0 <= float(spread.min()) and float(spread.max()) <= 1.5  # Keras 3: factor 0.5 means [1, 1.5]
    shifted = layers.RandomBrightness(0.1, seed=0).train()(images) - images
    assert torch.allclose(shifted, shifted[:, :1, :1], atol=1e-4)  # one delta per image
    assert -25.5 <= float(shifted.min()) < -15 and 15 < float(shifted.max()) <= 25.5
    crops = layers.RandomCrop(2, 3, seed=0).train()(torch.arange(20.0).reshape(1, 4, 5, 1).expand(3, -1, -1, -1))
    assert torch.equal(crops[0], crops[1]) and torch.equal(crops[0], crops[2])  # one window for the batch


def test_gaussian_noise_and_dropout_have_keras_statistics() -> None:
    ones = torch.ones(200_000)
    noise = layers.GaussianNoise(0.2, seed=1).train()(ones) - 1
    dropped = layers.GaussianDropout(0.2, seed=1).train()(ones)
    assert abs(float(noise.std()) - 0.2) < 2e-3 and abs(float(noise.mean())) < 2e-3
    assert abs(float(dropped.std()) - 0.5) < 5e-3 and abs(float(dropped.mean()) - 1) < 5e-3  # sqrt(.2 / .8)


# -- Embedding --------------------------------------------------------------------------------

def test_embedding_ids_pretrained_weights_and_errors() -> None:
    matrix = np.arange(12, dtype="float32").reshape(4, 3)
    layer = layers.Embedding(4, 3, weights=[matrix])
    np.testing.assert_array_equal(layer(torch.tensor([[1.0, 3.0], [-1.0, 0.0]])).detach().numpy(),
                                  matrix[[[1, 3], [3, 0]]])
    with pytest.raises(ValueError, match=r"Embedding 'embedding\w*': ids must lie in \[0, 4\)"):
        layer(torch.tensor([[4.0, 0.0]]))
    assert layers.Embedding(10, 3, mask_zero=True).get_config()["mask_zero"] is True  # tests/keras/test_keras_masking.py
    with pytest.raises(ValueError, match="Embedding: input_dim must be a positive integer"):
        layers.Embedding(0, 3)
    with pytest.raises(ValueError, match=r"Embedding: weights must be one \(4, 3\) matrix"):
        layers.Embedding(4, 3, weights=np.zeros((3, 3)))


def test_embedding_trains_only_the_rows_it_looked_up() -> None:
    model = Sequential([layers.Input((3,)), layers.Embedding(6, 2), layers.Flatten(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    before = model.layers[0].get_weights()[0]
    model.train_on_batch(np.array([[0, 2, 2]], "float32"), np.ones((1, 1), "float32"))
    changed = np.any(model.layers[0].get_weights()[0] != before, axis=1)
    assert changed.tolist() == [True, False, True, False, False, False]


# -- argument and shape errors --------------------------------------------------------------------

@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.Permute((1, 3)), "Permute: dims must be a permutation of 1..n"),
    (lambda: layers.RepeatVector(0), "RepeatVector: n must be a positive integer"),
    (lambda: layers.GaussianNoise(1.5), r"GaussianNoise: stddev must be a number in \[0, 1\]"),
    (lambda: layers.GaussianDropout(1.0), r"GaussianDropout: rate must be a number in \[0, 1\)"),
    (lambda: layers.Normalization(mean=1.0), "Normalization: give both mean and variance"),
    (lambda: layers.Normalization(mean=[1, 2], variance=[1]), "mean and variance must have the same shape"),
    (lambda: layers.Normalization(mean=1, variance="relu"), "Normalization: variance must be a number or an array"),
    (lambda: layers.CenterCrop(0, 4), "CenterCrop: height must be a positive integer"),
    (lambda: layers.RandomCrop(4, 4.5), "RandomCrop: width must be a positive integer"),
    (lambda: layers.RandomContrast(1.5), r"RandomContrast: factor must be a number or a pair of numbers in \[0, 1\]"),
    (lambda: layers.RandomBrightness(0.2, value_range=(0,)), "RandomBrightness: value_range must be a pair"),
])
def test_arguments_are_checked(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(("layer", "shape", "message"), [
    (layers.Permute((2, 1)), (None, 4, 5, 6), r"Permute 'permute\w*': dims \(2, 1\) reorder 2 axes, so it expects 3-D"),
    (layers.RepeatVector(2), (None, 4, 5), r"RepeatVector 'repeat_vector\w*' expects 2-D input"),
    (layers.Normalization(axis=2), (None, 4), r"Normalization 'normalization\w*': axis \(2,\) is out of range"),
    (layers.Normalization(), (None, None), r"Normalization 'normalization\w*': the kept axes \(-1,\) must have known"),
    (layers.CenterCrop(3, 3), (None, 5, 5), r"CenterCrop 'center_crop\w*' expects 4-D input"),
    (layers.RandomContrast(0.1), (None, 5), r"RandomContrast 'random_contrast\w*' expects 4-D input"),
])
def test_shape_errors_name_the_layer(layer: Layer, shape: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        layer.build(shape)
