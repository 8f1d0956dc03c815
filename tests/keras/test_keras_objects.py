"""Keras-style programs through `import convscope.keras as keras`: losses, metrics, optimizers
and initializers as Keras 3 defines them (its docstring examples are the expected values)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convscope.keras as keras

# Keras's docstring examples for the cross-entropies.
ONE_HOT = [[0, 1, 0], [0, 0, 1]]
LABELS = [1, 2]
PROBABILITIES = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
BINARY_TRUE = [[0, 1], [0, 0]]
BINARY_LOGITS = [[-18.6, 0.51], [2.94, -12.8]]


def bright_band_images(count: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-shaped (count, 28, 28, 1) images whose class (0-2) is the row band that is bright."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, count)
    images = rng.uniform(0, 0.3, size=(count, 28, 28, 1)).astype("float32")
    for image, label in zip(images, labels):
        image[label * 9:label * 9 + 9] += 0.7
    return images, labels


def small_convnet(classes: int = 3) -> keras.Sequential:
    return keras.Sequential([
        keras.layers.Input((28, 28, 1)),
        keras.layers.Conv2D(8, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dense(classes, activation="softmax"),
    ])


# -- losses -----------------------------------------------------------------------------------
@pytest.mark.parametrize("convert", [list, np.array, torch.tensor], ids=["list", "numpy", "tensor"])
def test_categorical_crossentropy_takes_y_true_first(convert: type) -> None:
    cce = keras.losses.CategoricalCrossentropy()
    loss = cce(convert(ONE_HOT), convert(PROBABILITIES))
    assert isinstance(loss, torch.Tensor) and loss.shape == ()
    assert float(loss) == pytest.approx(1.177, abs=1e-3)  # was 7.656: y_pred was read as y_true
    assert float(cce(ONE_HOT, PROBABILITIES, sample_weight=np.array([0.3, 0.7]))) == pytest.approx(0.814, abs=1e-3)
    assert float(keras.losses.CategoricalCrossentropy(reduction="sum")(ONE_HOT, PROBABILITIES)) == pytest.approx(
        2.354, abs=1e-3)
    per_sample = keras.losses.CategoricalCrossentropy(reduction=None)(ONE_HOT, PROBABILITIES)
    np.testing.assert_allclose(per_sample, [0.0513, 2.303], atol=1e-3)


def test_sparse_categorical_crossentropy_docstring_example() -> None:
    scce = keras.losses.SparseCategoricalCrossentropy()
    assert float(scce(np.array(LABELS), np.array(PROBABILITIES))) == pytest.approx(1.177, abs=1e-3)
    assert float(scce(LABELS, PROBABILITIES, sample_weight=[0.3, 0.7])) == pytest.approx(0.814, abs=1e-3)
    assert float(keras.losses.SparseCategoricalCrossentropy(reduction="sum")(LABELS, PROBABILITIES)) == \
        pytest.approx(2.354, abs=1e-3)
    logits = np.log(np.array(PROBABILITIES) + 1e-12)
    assert float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(LABELS, logits)) == pytest.approx(
        1.177, abs=1e-3)
    assert float(keras.losses.SparseCategoricalCrossentropy(ignore_class=2)(LABELS, PROBABILITIES)) == \
        pytest.approx(0.0513, abs=1e-3)  # only the first sample counts


def test_binary_crossentropy_docstring_examples() -> None:
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    assert float(bce(np.array([0, 1, 0, 0]), np.array([-18.6, 0.51, 2.94, -12.8]))) == pytest.approx(0.8654, abs=1e-3)
    assert float(bce(BINARY_TRUE, BINARY_LOGITS)) == pytest.approx(0.8654, abs=1e-3)
    assert float(bce(BINARY_TRUE, BINARY_LOGITS, sample_weight=[0.8, 0.2])) == pytest.approx(0.243, abs=1e-3)
    summed = keras.losses.BinaryCrossentropy(from_logits=True, reduction="sum")(BINARY_TRUE, BINARY_LOGITS)
    assert float(summed) == pytest.approx(1.730, abs=1e-3)
    per_sample = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)(BINARY_TRUE, BINARY_LOGITS)
    np.testing.assert_allclose(per_sample, [0.235, 1.496], atol=1e-3)
    assert float(keras.losses.BinaryCrossentropy()([0, 1, 0, 0], [0.6, 0.3, 0.2, 0.8])) == pytest.approx(
        0.9882, abs=1e-3)


def test_regression_losses_docstring_examples() -> None:
    assert float(keras.losses.MeanSquaredError()([1.0, 0.0, 1.0], [0.9, 0.1, 0.8])) == pytest.approx(0.02, abs=1e-6)
    assert float(keras.losses.MeanAbsoluteError()([1.0, 0.3, 1.0], [1.9, 0.3, 1.8])) == pytest.approx(
        0.5666667, abs=1e-6)
    y_true, y_pred = [[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]
    assert float(keras.losses.MeanSquaredError()(y_true, y_pred, sample_weight=[0.7, 0.3])) == pytest.approx(0.25)


def test_loss_functions_return_per_sample_values() -> None:
    np.testing.assert_allclose(keras.losses.categorical_crossentropy(ONE_HOT, PROBABILITIES), [0.0513, 2.3026],
                               atol=1e-4)
    np.testing.assert_allclose(keras.losses.sparse_categorical_crossentropy(LABELS, PROBABILITIES), [0.0513, 2.3026],
                               atol=1e-4)
    logits = torch.tensor(PROBABILITIES).clamp_min(1e-9).log()
    np.testing.assert_allclose(keras.losses.sparse_categorical_crossentropy(LABELS, logits, from_logits=True),
                               [0.0513, 2.3026], atol=1e-4)
    np.testing.assert_allclose(keras.losses.binary_crossentropy(BINARY_TRUE, [[0.6, 0.4], [0.4, 0.6]]),
                               [0.916, 0.714], atol=1e-3)
    squared = keras.losses.mean_squared_error([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(squared, [0.5, 0.5])
    assert keras.losses.mse is keras.losses.mean_squared_error and keras.losses.mae is keras.losses.mean_absolute_error


def test_losses_follow_keras_defaults() -> None:
    cce = keras.losses.CategoricalCrossentropy()
    assert (cce.from_logits, cce.label_smoothing, cce.axis, cce.reduction, cce.name) == (
        False, 0.0, -1, "sum_over_batch_size", "categorical_crossentropy")
    assert keras.losses.SparseCategoricalCrossentropy(True).from_logits  # from_logits comes first
    with pytest.raises(ValueError, match="reduction"):
        keras.losses.MeanSquaredError(reduction="average")
    smoothed = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)([[0.0, 1.0]], [[0.1, 0.9]])
    expected = -(0.05 * np.log(0.1) + 0.95 * np.log(0.9))
    assert float(smoothed) == pytest.approx(expected, rel=1e-5)


def test_subclassed_loss_and_training_loss_agree_with_the_public_call() -> None:
    class HalfSquared(keras.losses.Loss):
        def call(self, y_true, y_pred):  # type: ignore[no-untyped-def]
            return 0.5 * torch.square(y_pred - y_true).mean(-1)

    assert float(HalfSquared()([[1.0, 2.0]], [[0.0, 0.0]])) == pytest.approx(1.25)
    x, y = bright_band_images(48)
    model = small_convnet()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", precision="float32")
    reported = model.evaluate(x, y, verbose=0)
    assert reported == pytest.approx(float(keras.losses.SparseCategoricalCrossentropy()(y, model.predict(x))),
                                     rel=1e-5)


# -- metrics ----------------------------------------------------------------------------------
def test_metric_objects_follow_the_docstring_examples() -> None:
    m = keras.metrics.SparseCategoricalAccuracy()
    m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    assert float(m.result()) == pytest.approx(0.5)
    m.reset_state()
    m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], sample_weight=[0.7, 0.3])
    assert float(m.result()) == pytest.approx(0.3)
    c = keras.metrics.CategoricalAccuracy()
    assert float(c([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])) == pytest.approx(0.5)
    b = keras.metrics.BinaryAccuracy()
    assert float(b([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])) == pytest.approx(0.75)
    a = keras.metrics.Accuracy()
    a.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]], sample_weight=[1, 1, 0, 0])
    assert float(a.result()) == pytest.approx(0.5)
    top = keras.metrics.SparseTopKCategoricalAccuracy(k=1)
    assert float(top([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])) == pytest.approx(0.5)
    assert keras.metrics.SparseCategoricalAccuracy(name="acc").name == "acc"


def test_metric_functions_return_per_sample_values() -> None:
    np.testing.assert_array_equal(
        keras.metrics.sparse_categorical_accuracy([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]), [0.0, 1.0])
    np.testing.assert_array_equal(
        keras.metrics.categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]), [0.0, 1.0])
    np.testing.assert_array_equal(
        keras.metrics.binary_accuracy([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]).flatten(), [1, 1, 1, 0])
    np.testing.assert_array_equal(keras.metrics.accuracy([1, 2, 3], [1, 0, 3]), [1, 0, 1])


def test_mnist_convnet_with_custom_metric_and_named_accuracy() -> None:
    def top2_accuracy(y_true, y_pred):  # type: ignore[no-untyped-def]
        return keras.metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, k=2)

    x, y = bright_band_images()
    keras.utils.set_random_seed(1)
    model = small_convnet()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2), loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc"), top2_accuracy], precision="float32")
    history = model.fit(x, y, batch_size=32, epochs=4, verbose=0)
    assert set(history.history) == {"loss", "acc", "top2_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    probabilities = model.predict(x)
    assert results["acc"] == pytest.approx(float(keras.metrics.sparse_categorical_accuracy(y, probabilities).mean()))
    assert results["top2_accuracy"] == pytest.approx(float(top2_accuracy(y, probabilities).mean()))


def test_compile_takes_custom_loss_and_stateful_metric() -> None:
    def scaled_crossentropy(y_true, y_pred):  # type: ignore[no-untyped-def]
        return 2.0 * keras.losses.sparse_categorical_crossentropy(y_true, y_pred)

    class SamplesSeen(keras.metrics.Metric):
        def __init__(self, name: str = "samples_seen") -> None:
            super().__init__(name=name)
            self.count = 0

        def update_state(self, y_true, y_pred, sample_weight=None):  # type: ignore[no-untyped-def]
            self.count += len(y_true)

        def result(self):  # type: ignore[no-untyped-def]
            return torch.tensor(float(self.count))

        def reset_state(self) -> None:
            self.count = 0

    x, y = bright_band_images(40)
    model = small_convnet()
    model.compile(optimizer="sgd", loss=scaled_crossentropy, metrics=["accuracy", SamplesSeen()], precision="float32")
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert history.history["samples_seen"] == [40.0, 40.0]
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    probabilities = model.predict(x)
    assert results["loss"] == pytest.approx(float(scaled_crossentropy(y, probabilities).mean()), rel=1e-5)
    assert results["accuracy"] == pytest.approx(float((probabilities.argmax(-1) == y).mean()))


class CategoricalTruePositives(keras.metrics.Metric):
    """A custom metric written as the Keras guide writes one: state in add_variable."""

    def __init__(self, name: str = "categorical_true_positives", **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="ctp")

    def update_state(self, y_true, y_pred, sample_weight=None):  # type: ignore[no-untyped-def]
        hits = (torch.as_tensor(y_pred).argmax(-1) == torch.as_tensor(y_true).long().view(-1)).float()
        self.true_positives.assign_add(hits.sum())

    def result(self):  # type: ignore[no-untyped-def]
        return self.true_positives


def test_custom_metric_with_add_variable_counts_each_epoch_afresh() -> None:
    metric = CategoricalTruePositives()
    metric.update_state([1, 0], [[0.2, 0.8], [0.9, 0.1]])
    assert float(metric.result()) == 2.0
    metric.reset_state()
    assert float(metric.result()) == 0.0
    x, y = bright_band_images(40)
    model = small_convnet()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=[metric], precision="float32")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    counted = model.evaluate(x, y, verbose=0, return_dict=True)["categorical_true_positives"]
    assert counted == float((model.predict(x).argmax(-1) == y).sum())


def test_a_model_with_a_custom_loss_saves_and_loads_uncompiled(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def halved_crossentropy(y_true, y_pred):  # type: ignore[no-untyped-def]
        return 0.5 * keras.losses.sparse_categorical_crossentropy(y_true, y_pred)

    model = small_convnet()
    model.compile(optimizer="adam", loss=halved_crossentropy, metrics=[keras.metrics.SparseCategoricalAccuracy("acc")],
                  precision="float32")
    model.save(tmp_path / "model")
    with pytest.raises(ValueError, match="compile=False"):
        keras.models.load_model(tmp_path / "model")
    loaded = keras.models.load_model(tmp_path / "model", compile=False)
    x, _ = bright_band_images(4)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)
    renamed = small_convnet()
    renamed.compile(loss=keras.losses.SparseCategoricalCrossentropy(name="scce"), metrics=["acc"])
    renamed.save(tmp_path / "renamed")
    assert keras.models.load_model(tmp_path / "renamed").compiled.loss.name == "scce"


# -- optimizers -------------------------------------------------------------------------------
class HalveAtEpochEnd(keras.callbacks.Callback):
    """Reads and sets model.optimizer.learning_rate, as Keras tutorials' callbacks do."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        rate = float(keras.backend.get_value(self.model.optimizer.learning_rate))
        self.seen.append(rate)
        self.model.optimizer.learning_rate = rate / 2


def test_model_optimizer_learning_rate_is_read_and_set() -> None:
    model = small_convnet()
    assert model.optimizer is None
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.004), loss="sparse_categorical_crossentropy")
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.004)
    keras.backend.set_value(model.optimizer.learning_rate, 0.01)
    assert keras.backend.get_value(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert model.compiled.optimizer.param_groups[0]["lr"] == pytest.approx(0.01)
    model.optimizer.learning_rate.assign(0.02)
    assert model.learning_rate == pytest.approx(0.02) and model.optimizer.lr == pytest.approx(0.02)
    callback = HalveAtEpochEnd()
    x, y = bright_band_images(32)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[callback])
    assert callback.seen == pytest.approx([0.02, 0.01, 0.005])
    assert model.compiled.optimizer.param_groups[0]["lr"] == pytest.approx(0.0025)


def test_a_torch_optimizer_is_seen_through_model_optimizer() -> None:
    model = small_convnet()
    model.compile(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), loss="sparse_categorical_crossentropy")
    model.optimizer.learning_rate = 0.05
    assert model.compiled.optimizer.param_groups[0]["lr"] == pytest.approx(0.05)


def test_keras2_spellings_lr_and_input_dim() -> None:
    with pytest.warns(UserWarning, match="learning_rate"):
        adam = keras.optimizers.Adam(lr=0.003)
    assert adam.learning_rate == pytest.approx(0.003)
    model = keras.Sequential([keras.layers.Dense(16, activation="relu", input_dim=784),
                              keras.layers.Dense(10, activation="softmax")])
    assert model.input_shape == (None, 784) and model.output_shape == (None, 10)
    model.compile(optimizer=adam, loss="categorical_crossentropy", metrics=["accuracy"])
    assert model.compiled.optimizer.param_groups[0]["lr"] == pytest.approx(0.003)
    with pytest.raises(ValueError, match="not recognized: momentum_typo"):
        keras.optimizers.SGD(momentum_typo=0.9)


# -- initializers -----------------------------------------------------------------------------
RANDOM_INITIALIZERS = ["RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "GlorotUniform",
                       "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal"]


@pytest.mark.parametrize("name", RANDOM_INITIALIZERS)
def test_initializers_take_a_seed_and_repeat_their_draw(name: str) -> None:
    cls = getattr(keras.initializers, name)
    first, again, other = cls(seed=1)((4, 5)), cls(seed=1)((4, 5)), cls(seed=2)((4, 5))
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert not torch.equal(first, other)
    assert cls(seed=7).get_config()["seed"] == 7
    assert keras.initializers.get(keras.initializers.serialize(cls(seed=7))).seed == 7


def test_seeded_initializer_in_a_layer_gives_the_same_kernel() -> None:
    def kernel() -> np.ndarray:
        layer = keras.layers.Dense(3, kernel_initializer=keras.initializers.HeNormal(seed=1), input_dim=4)
        return keras.Sequential([layer]).get_weights()[0]

    np.testing.assert_array_equal(kernel(), kernel())
    assert keras.initializers.he_normal is keras.initializers.HeNormal


# -- model methods ----------------------------------------------------------------------------
def test_get_layer_and_weight_lists() -> None:
    model = keras.Sequential([
        keras.layers.Input((28, 28, 1)),
        keras.layers.Conv2D(8, 3, activation="relu", name="conv", kernel_regularizer=keras.regularizers.l2(1e-3)),
        keras.layers.BatchNormalization(),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax"),
    ])
    assert model.get_layer("conv") is model.layers[0] and model.get_layer(index=-1) is model.layers[-1]
    with pytest.raises(ValueError, match="no layer named 'dense_9'"):
        model.get_layer("dense_9")
    assert [tuple(w.shape) for w in model.trainable_weights] == [(8, 1, 3, 3), (8,), (8,), (8,), (3, 5408), (3,)]
    assert [tuple(w.shape) for w in model.non_trainable_weights] == [(8,), (8,)]  # moving mean, variance
    assert len(model.weights) == 8
    model.get_layer("conv").trainable = False
    assert len(model.trainable_weights) == 4 and len(model.non_trainable_weights) == 4
    assert len(model.losses) == 1 and float(model.losses[0]) > 0


def test_on_batch_methods_and_calling_the_model_on_numpy() -> None:
    x, y = bright_band_images(32)
    model = small_convnet()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  precision="float32")
    before = model.test_on_batch(x, y)
    loss, accuracy = model.train_on_batch(x, y)
    assert loss == pytest.approx(before[0], rel=1e-5) and 0 <= accuracy <= 1
    assert model.test_on_batch(x, y, return_dict=True)["loss"] < loss  # the step lowered it
    outputs = model(x[:4])
    assert isinstance(outputs, torch.Tensor) and outputs.shape == (4, 3)
    np.testing.assert_allclose(model.predict_on_batch(x[:4]), outputs.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_summary_takes_keras_arguments() -> None:
    lines: list[str] = []
    small_convnet().summary(line_length=70, print_fn=lines.append)
    text = "\n".join(lines).splitlines()
    assert "_" * 70 in text and "=" * 70 in text and any("Total params" in line for line in text)
