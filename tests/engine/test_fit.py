"""fit / evaluate / predict: Keras's behaviour, callbacks, determinism, precision paths.

Most behaviour is checked on a small 8x8 model for speed; memory layout and the compiled CPU
kernels are checked on the seed CNN and on the same network for 32x32 RGB images, where the
first convolution runs fused with its pooling and the second holds a 64-input-channel kernel
whose channels-last strides differ from contiguous ones."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from convscope import (
    Sequential,
    callbacks,
    constraints,
    layers,
    load_model,
    optimizers,
    regularizers,
    set_seed,
    zoo,
)
from convscope.ops import cpu_kernels
from convscope.ops.device import autocast


def blobs(samples: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes of 8x8 images: a bright row, a bright column, or a bright diagonal."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, samples)
    x = rng.normal(0, 0.3, size=(samples, 8, 8, 1)).astype(np.float32)
    for i, label in enumerate(y):
        where = rng.integers(1, 7)
        if label == 0:
            x[i, where, :, 0] += 2
        elif label == 1:
            x[i, :, where, 0] += 2
        else:
            x[i, np.arange(8), np.arange(8), 0] += 2
    return x, y


def small_model(**compile_options) -> Sequential:
    model = Sequential([
        layers.Conv2D(8, 3, activation="relu", input_shape=(8, 8, 1)),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])
    options = {"optimizer": optimizers.Adam(0.01), "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"],
               "precision": "float32", **compile_options}
    model.compile(**options)
    return model


# The seed CNN as users meet it first, and the same network on RGB images (3 input channels).
REAL_SHAPES = {"seed CNN 28x28x1": (28, 28, 1), "seed CNN 32x32x3": (32, 32, 3)}
kernels_built = pytest.mark.skipif(not cpu_kernels.available(), reason="the C kernels are not built here")


def images(samples: int, shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Uniform noise images with ten cycling labels: enough to compare two paths of training."""
    return np.random.default_rng(seed).random((samples, *shape), dtype=np.float32), np.arange(samples) % 10


def seed_cnn(shape: tuple[int, ...], optimizer: object = "adam", precision: str = "float32") -> Sequential:
    model = zoo.build("seed-cnn", shape)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  precision=precision)
    return model


def channels_last_strides(shape: torch.Size) -> tuple[int, ...]:
    """The strides of a channels-last (out, in, kh, kw) kernel, written out."""
    out_channels, in_channels, height, width = shape
    return (in_channels * height * width, 1, width * in_channels, in_channels)


def test_fit_learns_and_history_has_keras_keys() -> None:
    set_seed(0)
    x, y = blobs()
    model = small_model()
    history = model.fit(x, y, epochs=8, batch_size=16, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.epoch == list(range(8))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.9
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.9 and loss < history.history["loss"][0]
    assert model.history is history


def test_validation_split_takes_the_last_samples_before_shuffling() -> None:
    x, y = blobs(100)
    seen = {}

    class Spy(callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.update(self.params, samples=self.fit_state.samples)

    small_model().fit(x, y, epochs=1, batch_size=10, validation_split=0.2, verbose=0, callbacks=[Spy()])
    assert seen["samples"] == 80 and seen["steps"] == 8


def test_set_seed_makes_runs_identical() -> None:
    x, y = blobs()
    weights = []
    for _ in range(2):
        set_seed(123)
        model = small_model()
        model.fit(x, y, epochs=2, batch_size=32, verbose=0)
        weights.append(model.get_weights())
    for first, second in zip(*weights, strict=True):
        np.testing.assert_array_equal(first, second)


def test_one_hot_targets_and_categorical_accuracy() -> None:
    set_seed(1)
    x, y = blobs()
    model = small_model(loss="categorical_crossentropy", metrics=["accuracy", "top_k_categorical_accuracy"])
    history = model.fit(x, np.eye(3)[y], epochs=5, batch_size=16, verbose=0)
    assert history.history["top_k_categorical_accuracy"] == [1.0] * 5  # k=5 > 3 classes
    assert history.history["accuracy"][-1] > 0.8


def test_softmax_cross_entropy_uses_logits_and_matches_the_definition() -> None:
    model = small_model()
    assert model.compiled.use_logits
    x, y = blobs(20)
    probabilities = model.predict(x)
    expected = -np.log(probabilities[np.arange(20), y]).mean()
    loss, _ = model.evaluate(x, y, verbose=0)
    assert math.isclose(loss, expected, rel_tol=1e-4)


def test_from_logits_with_a_linear_output() -> None:
    model = Sequential([layers.Input((4,)), layers.Dense(3)])
    model.compile(optimizer="sgd", loss={"class_name": "sparse_categorical_crossentropy",
                                         "config": {"from_logits": True}}, precision="float32")
    x = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    y = np.arange(10) % 3
    logits = model.predict(x)
    expected = (np.log(np.exp(logits).sum(1)) - logits[np.arange(10), y]).mean()
    assert math.isclose(model.evaluate(x, y, verbose=0), expected, rel_tol=1e-5)


def test_reported_loss_includes_the_weight_penalty_as_in_keras() -> None:
    x, y = blobs(64)
    reported = {}
    for factor in (0.0, 10.0):
        set_seed(3)
        regularizer = regularizers.l2(factor) if factor else None
        model = Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, kernel_regularizer=regularizer),
                            layers.Flatten(), layers.Dense(3, activation="softmax")])
        model.compile(optimizer=optimizers.SGD(1e-12), loss="sparse_categorical_crossentropy", precision="float32")
        penalty = factor * float((model.layers[0].get_weights()[0] ** 2).sum())
        reported[factor] = (model.fit(x, y, epochs=1, batch_size=64, verbose=0).history["loss"][0], penalty)
        assert math.isclose(model.evaluate(x, y, verbose=0), reported[factor][0], rel_tol=1e-4)
    assert reported[10.0][1] > 1.0
    assert math.isclose(reported[10.0][0] - reported[0.0][0], reported[10.0][1], rel_tol=1e-4)


def test_penalty_pulls_weights_to_zero() -> None:
    set_seed(4)
    x, y = blobs(64)
    model = Sequential([layers.Input((8, 8, 1)), layers.Flatten(),
                        layers.Dense(3, activation="softmax", kernel_regularizer=regularizers.l2(5.0))])
    model.compile(optimizer=optimizers.SGD(0.01), loss="sparse_categorical_crossentropy", precision="float32")
    before = np.abs(model.get_weights()[0]).sum()
    model.fit(x, y, epochs=5, batch_size=64, verbose=0)
    assert np.abs(model.get_weights()[0]).sum() < 0.7 * before


def test_activity_regularizer_penalty_is_recorded() -> None:
    model = Sequential([layers.Input((4,)), layers.Dense(2, activity_regularizer=regularizers.l1(1.0))])
    x = torch.ones(5, 4)
    out = model(x)
    assert math.isclose(float(model.regularization_penalty().detach()), float(out.detach().abs().sum() / 5), rel_tol=1e-6)


def test_constraints_apply_after_each_step() -> None:
    set_seed(5)
    x, y = blobs(64)
    model = Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, kernel_constraint="non_neg"),
                        layers.Flatten(), layers.Dense(3, activation="softmax", kernel_constraint="max_norm")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", precision="float32")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert model.get_weights()[0].min() >= 0
    assert np.sqrt((model.get_weights()[2] ** 2).sum(axis=0)).max() <= 2.0 + 1e-5


def test_constraints_on_an_rgb_kernel_bound_each_filter_and_keep_channels_last() -> None:
    set_seed(5)
    x, y = images(32, (10, 10, 3))
    model = Sequential([layers.Input((10, 10, 3)),
                        layers.Conv2D(8, 3, kernel_constraint=constraints.MaxNorm(0.5, axis=[0, 1, 2])),
                        layers.Conv2D(4, 3, kernel_constraint="unit_norm"), layers.Flatten(),
                        layers.Dense(10, activation="softmax")])
    model.compile(optimizer=optimizers.SGD(1.0), loss="sparse_categorical_crossentropy", precision="float32")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    first, _, second, _, _, _ = model.get_weights()
    filter_norms = np.sqrt((first ** 2).sum(axis=(0, 1, 2)))  # one per filter, over (kh, kw, in)
    assert filter_norms.max() <= 0.5 + 1e-5 and filter_norms.min() > 0.1
    np.testing.assert_allclose(np.sqrt((second ** 2).sum(axis=0)), 1.0, rtol=1e-5)  # Keras's default axis 0
    for parameter in model.parameters():
        if parameter.dim() == 4:
            assert parameter.stride() == channels_last_strides(parameter.shape)


def test_callbacks_early_stopping_lr_and_csv(tmp_path: Path) -> None:
    set_seed(6)
    x, y = blobs(64)
    model = small_model()
    csv_path = tmp_path / "log.csv"
    schedule = callbacks.LearningRateScheduler(lambda epoch, rate: 0.01 / (epoch + 1))
    stopper = callbacks.EarlyStopping(monitor="loss", min_delta=100.0, patience=1)
    history = model.fit(x, y, epochs=10, batch_size=16, verbose=0,
                        callbacks=[schedule, stopper, callbacks.CSVLogger(csv_path)])
    assert len(history.epoch) == 2  # no epoch improves by 100: stop after patience 1
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.005])
    rows = list(csv.reader(csv_path.open()))
    # Keras 3 adds a val_ column for each key when the logs have none, written NA
    assert rows[0] == ["epoch", "accuracy", "learning_rate", "loss", "val_accuracy", "val_learning_rate",
                       "val_loss"] and len(rows) == 3
    assert rows[1][4:] == ["NA", "NA", "NA"]


def test_reduce_lr_on_plateau_and_checkpoint(tmp_path: Path) -> None:
    set_seed(7)
    x, y = blobs(64)
    model = small_model()
    reducer = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=100.0)
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}", monitor="loss", save_best_only=False)
    model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[reducer, checkpoint])
    assert model.learning_rate == pytest.approx(0.01 * 0.5 ** 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01", "ckpt-02", "ckpt-03"]
    reloaded = load_model(tmp_path / "ckpt-03")
    np.testing.assert_allclose(reloaded.predict(x), model.predict(x), rtol=1e-6, atol=1e-7)


def test_terminate_on_nan() -> None:
    x, y = blobs(64)
    model = small_model(optimizer=optimizers.SGD(1e6))
    x = x * 1e6
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[callbacks.TerminateOnNaN()])
    assert len(history.epoch) == 1


def test_progress_prints_one_line_per_epoch_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    x, y = blobs(64)
    small_model().fit(x, y, epochs=3, batch_size=8, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Epoch 1/3 - ") and " img/s - loss: " in lines[0] and "accuracy: " in lines[0]


def test_predict_batches_and_plain_pytorch_use() -> None:
    model = small_model()
    x, y = blobs(50)
    full = model.predict(x, batch_size=7)
    assert full.shape == (50, 3)
    np.testing.assert_allclose(full.sum(1), 1, rtol=1e-5)
    with torch.no_grad():
        np.testing.assert_allclose(model(torch.as_tensor(x)).numpy(), full, rtol=1e-5, atol=1e-6)
    # The model is a torch.nn.Module: a hand-written loop trains it too.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    start = torch.nn.functional.nll_loss(model(torch.as_tensor(x)).log(), torch.as_tensor(y)).item()
    for _ in range(20):
        optimizer.zero_grad()
        loss = torch.nn.functional.nll_loss(model(torch.as_tensor(x)).log(), torch.as_tensor(y))
        loss.backward()
        optimizer.step()
    assert loss.item() < start


@pytest.mark.parametrize("precision", ["float32", "bfloat16", "auto"])
def test_every_precision_trains_and_agrees_with_float32(precision: str) -> None:
    x, y = blobs(200)
    set_seed(8)
    reference = small_model(precision="float32")
    set_seed(8)
    model = small_model(precision=precision)
    model.set_weights(reference.get_weights())
    np.testing.assert_allclose(model.predict(x), reference.predict(x), atol=0.03)
    model.fit(x, y, epochs=6, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] > 0.85
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay float32


def test_save_load_continues_training_identically(tmp_path: Path) -> None:
    x, y = blobs(96)
    set_seed(9)
    straight = small_model()
    straight.fit(x, y, epochs=2, batch_size=16, verbose=0)
    set_seed(9)
    first = small_model()
    first.fit(x, y, epochs=1, batch_size=16, verbose=0)
    first.save(tmp_path / "m")
    resumed = load_model(tmp_path / "m")
    resumed.fit(x, y, epochs=2, initial_epoch=1, batch_size=16, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_binary_and_regression_losses() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    model = Sequential([layers.Input((6,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"], precision="float32")
    assert model.compiled.use_logits
    model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] > 0.9
    regression = Sequential([layers.Input((6,)), layers.Dense(1)])
    regression.compile(optimizer=optimizers.Adam(0.05), loss="mse", metrics=["mae"], precision="float32")
    target = x @ np.arange(6, dtype=np.float32)[:, None] * 0.1
    first = regression.evaluate(x, target, verbose=0)
    regression.fit(x, target, epochs=40, batch_size=16, verbose=0)
    assert regression.evaluate(x, target, verbose=0)[0] < 0.2 * first[0]


def test_one_cycle_schedule_warms_up_then_decays() -> None:
    schedule = callbacks.OneCycleLR(0.01, warmup=0.25)
    rates = [schedule.rate_at(step, 101) for step in range(101)]
    assert rates[0] == pytest.approx(0.01 / 25)
    assert max(rates) == pytest.approx(0.01) and rates.index(max(rates)) == 25
    assert rates[-1] == pytest.approx(0.01 / 1e4)
    assert all(a <= b for a, b in zip(rates[:25], rates[1:26]))
    assert all(a >= b for a, b in zip(rates[25:], rates[26:]))
    x, y = blobs(64)
    model = small_model()
    seen = []

    class Spy(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(self.model.learning_rate)

    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[callbacks.OneCycleLR(0.01, 0.25), Spy()])
    assert seen == pytest.approx([schedule.rate_at(step, 8) for step in range(8)])
    assert history.history["learning_rate"] == pytest.approx([seen[3], seen[7]])


def test_activity_penalty_on_the_last_layer_keeps_the_activated_forward() -> None:
    """The penalty is defined on the softmax output, so the loss is not split into logits."""
    model = Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax",
                                                         activity_regularizer=regularizers.l2(1.0))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", precision="float32")
    assert not model.compiled.use_logits
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    y = np.arange(6) % 3
    probabilities = model.predict(x)
    expected = -np.log(probabilities[np.arange(6), y]).mean() + (probabilities ** 2).sum() / 6
    assert math.isclose(model.evaluate(x, y, verbose=0), expected, rel_tol=1e-5)


def count_fused_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls = {"fused": 0}
    fused = cpu_kernels.conv_max_pool_2x2

    def counted(*args, **kwargs):
        calls["fused"] += 1
        return fused(*args, **kwargs)

    monkeypatch.setattr(cpu_kernels, "conv_max_pool_2x2", counted)
    return calls


@kernels_built
@pytest.mark.parametrize("build", cpu_kernels.loadable_builds())
@pytest.mark.parametrize("shape", list(REAL_SHAPES.values()), ids=list(REAL_SHAPES))
def test_an_epoch_with_the_cpu_kernels_matches_one_without_to_float32_rounding(
        shape: tuple[int, ...], build: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Plain SGD: an update is linear in the gradient, so any difference is the kernels' own.
    x, y = images(64, shape)
    calls = count_fused_calls(monkeypatch)
    trained, fused_steps = {}, {}
    for on in (True, False):
        set_seed(10)
        model = seed_cnn(shape, optimizers.SGD(0.05))
        start = model.get_weights()
        calls["fused"] = 0
        with cpu_kernels.enabled(on), cpu_kernels.build(build):
            model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        trained[on], fused_steps[on] = model.get_weights(), calls["fused"]
    assert fused_steps == {True: 4, False: 0}  # one fused first conv per step, only with the kernels
    for before, fused, plain in zip(start, trained[True], trained[False], strict=True):
        movement = np.abs(plain - before).max()
        assert movement > 1e-4  # every weight moved
        # Each step agrees to float32 rounding (tests/ops); over an epoch a pooling window whose two
        # largest values differ by less than float32 resolves (the RGB case meets one in its third
        # step) may pick the other winner, which moves the earlier layers by about 1% of a step.
        assert np.abs(fused - plain).max() <= 5e-2 * movement


@kernels_built
@pytest.mark.parametrize("shape", list(REAL_SHAPES.values()), ids=list(REAL_SHAPES))
def test_adam_with_and_without_the_cpu_kernels_differ_by_far_less_than_the_weights_move(
        shape: tuple[int, ...]) -> None:
    # Adam divides by the gradients' root mean square: a rounding difference in a near-zero
    # gradient moves its weight visibly, so the bound is relative to how far training moved it.
    x, y = images(64, shape, seed=1)
    trained = {}
    for on in (True, False):
        set_seed(12)
        model = seed_cnn(shape, optimizers.Adam(1e-3))
        start = model.get_weights()
        with cpu_kernels.enabled(on):
            model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        trained[on] = model.get_weights()
    for before, fused, plain in zip(start, trained[True], trained[False], strict=True):
        movement = np.abs(plain - before).max()
        assert movement > 1e-3
        assert np.abs(fused - plain).max() <= 1e-2 * movement


@pytest.mark.parametrize("kernels", [True, False], ids=["kernels on", "kernels off"])
@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
@pytest.mark.parametrize("shape", list(REAL_SHAPES.values()), ids=list(REAL_SHAPES))
def test_gradients_and_optimizer_state_keep_each_kernels_channels_last_layout(
        shape: tuple[int, ...], precision: str, kernels: bool) -> None:
    set_seed(13)
    model = seed_cnn(shape, precision=precision)
    x, y = images(16, shape)
    with cpu_kernels.enabled(kernels):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    kernel_shapes = []
    for name, parameter in model.named_parameters():
        if parameter.dim() == 4:
            kernel_shapes.append(tuple(parameter.shape))
            assert parameter.stride() == channels_last_strides(parameter.shape), name
        assert parameter.grad is not None and parameter.grad.stride() == parameter.stride(), name
        state = model.compiled.optimizer.state[parameter]
        for key in ("exp_avg", "exp_avg_sq"):
            assert state[key].stride() == parameter.stride(), (name, key)
    assert kernel_shapes == [(64, shape[-1], 3, 3), (64, 64, 3, 3)]


@pytest.mark.parametrize("kernels", [True, False], ids=["kernels on", "kernels off"])
@pytest.mark.parametrize("shape", list(REAL_SHAPES.values()), ids=list(REAL_SHAPES))
def test_a_saved_and_loaded_seed_cnn_continues_training_bit_identically(
        shape: tuple[int, ...], kernels: bool, tmp_path: Path) -> None:
    x, y = images(48, shape, seed=2)
    with cpu_kernels.enabled(kernels):
        set_seed(14)
        straight = seed_cnn(shape)
        straight.fit(x, y, epochs=2, batch_size=16, verbose=0)
        set_seed(14)
        first = seed_cnn(shape)
        first.fit(x, y, epochs=1, batch_size=16, verbose=0)
        first.save(tmp_path / "m")
        resumed = load_model(tmp_path / "m")
        for parameter in resumed.parameters():  # the optimizer state comes back in each parameter's layout
            state = resumed.compiled.optimizer.state[parameter]
            assert state["exp_avg"].stride() == state["exp_avg_sq"].stride() == parameter.stride()
        resumed.fit(x, y, epochs=2, initial_epoch=1, batch_size=16, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kernels", [True, False], ids=["kernels on", "kernels off"])
@pytest.mark.parametrize("shape", list(REAL_SHAPES.values()), ids=list(REAL_SHAPES))
def test_bfloat16_logits_of_the_seed_cnn_differ_from_float32_by_bfloat16_rounding(shape: tuple[int, ...],
                                                                                 kernels: bool) -> None:
    set_seed(15)
    model = seed_cnn(shape, precision="bfloat16")
    assert model.compiled.autocast_dtype == torch.bfloat16
    for parameter in model.parameters():  # random biases: zeros would hide a dropped one
        if parameter.dim() == 1:
            torch.nn.init.uniform_(parameter.data, -0.1, 0.1)
    model.eval()
    x = torch.as_tensor(images(16, shape)[0])
    with torch.no_grad(), cpu_kernels.enabled(kernels):
        with autocast(model.device, model.compiled.autocast_dtype):
            low = model(x, logits=True).float()
        full = model(x, logits=True)
    error = float((low - full).abs().max() / full.abs().max())
    assert 1e-4 < error < 3e-2  # rounded to bfloat16 (about 0.4% per operation), and nothing worse


def test_a_callback_not_built_on_the_callback_class_still_runs() -> None:
    # Duck-typed callbacks (set_model, set_params and the hooks, no base class) ran before the
    # engine gave callbacks its own fit state; they must still run, with Keras's params.
    class Clock:
        def __init__(self) -> None:
            self.epochs: list[int] = []
            self.params: dict = {}

        def set_model(self, model: object) -> None:
            self.model = model

        def set_params(self, params: dict) -> None:
            self.params = params

        def __getattr__(self, name: str):
            if name.startswith("on_"):
                return lambda *args, **kwargs: self.epochs.append(args[0]) if name == "on_epoch_end" else None
            raise AttributeError(name)

    x, y = blobs(48)
    clock = Clock()
    small_model().fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[clock])
    assert clock.epochs == [0, 1] and clock.params == {"verbose": 0, "epochs": 2, "steps": 3}
