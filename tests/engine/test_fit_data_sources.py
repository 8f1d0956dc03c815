"""fit / evaluate / predict fed by a keras.utils.PyDataset (Sequence), a protocol-only object or a
generator, against the same model fed the same batches as arrays."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from convscope import Sequential, callbacks, set_seed, zoo
from convscope.engine.checkpoint import Checkpointer, restore_latest
from convscope.keras.utils import PyDataset, Sequence

SAMPLES, BATCH = 96, 32


def images(samples: int = SAMPLES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return np.random.default_rng(seed).random((samples, 28, 28, 1), dtype=np.float32), np.arange(samples) % 10


def seed_cnn() -> Sequential:
    set_seed(0)
    model = zoo.build("seed-cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Batches(Sequence):
    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int = BATCH) -> None:
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_begun = self.epochs_ended = 0
        self.seen: list[int] = []

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        self.seen.append(index)
        window = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[window], self.y[window]

    def on_epoch_begin(self) -> None:
        self.epochs_begun += 1

    def on_epoch_end(self) -> None:
        self.epochs_ended += 1


class ProtocolOnly:
    """__len__ and __getitem__ without the base class; __getitem__ never raises IndexError."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x) // BATCH

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.x[index * BATCH:(index + 1) * BATCH], self.y[index * BATCH:(index + 1) * BATCH]


def endless(x: np.ndarray, y: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    while True:
        for start in range(0, len(x), BATCH):
            yield x[start:start + BATCH], y[start:start + BATCH]


def weights(model: Sequential) -> list[np.ndarray]:
    return [weight.copy() for weight in model.get_weights()]


def within_seconds(seconds: float, work: Any) -> Any:
    """Run `work` in a thread and fail (instead of hanging) if it takes longer than `seconds`."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = work()
        except BaseException as error:  # re-raised in the test's thread
            result["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert not thread.is_alive(), f"did not finish within {seconds} s"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def test_pydataset_is_sequence() -> None:
    assert PyDataset is Sequence


def test_fit_on_a_sequence_equals_fit_on_the_same_arrays() -> None:
    torch.set_num_threads(1)
    x, y = images()
    on_arrays = seed_cnn()
    array_history = on_arrays.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    on_sequence = seed_cnn()
    batches = Batches(x, y)
    sequence_history = on_sequence.fit(batches, epochs=2, shuffle=False, verbose=0)
    for from_arrays, from_sequence in zip(weights(on_arrays), weights(on_sequence)):
        np.testing.assert_array_equal(from_sequence, from_arrays)  # same batches, same order: bit-identical
    assert sequence_history.history == array_history.history
    assert batches.epochs_begun == batches.epochs_ended == 2  # once per epoch
    assert batches.seen == [0, 1, 2] * 2


def test_shuffle_reorders_sequence_batches_each_epoch() -> None:
    x, y = images()
    batches = Batches(x, y, batch_size=8)  # 12 batches
    seed_cnn().fit(batches, epochs=2, verbose=0)
    first, second = batches.seen[:12], batches.seen[12:]
    assert sorted(first) == sorted(second) == list(range(12))
    assert first != list(range(12)) or second != list(range(12))
    assert batches.epochs_ended == 2


def test_generator_with_steps_per_epoch_equals_arrays() -> None:
    torch.set_num_threads(1)
    x, y = images()
    on_arrays = seed_cnn()
    on_arrays.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    on_generator = seed_cnn()
    history = on_generator.fit(endless(x, y), steps_per_epoch=3, epochs=2, verbose=0)
    assert history.epoch == [0, 1]
    for from_arrays, from_generator in zip(weights(on_arrays), weights(on_generator)):
        np.testing.assert_array_equal(from_generator, from_arrays)


def test_finite_generator_without_steps_runs_one_epoch_then_stops_with_a_warning() -> None:
    x, y = images()
    model = seed_cnn()
    finite = ((x[start:start + BATCH], y[start:start + BATCH]) for start in range(0, SAMPLES, BATCH))
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(finite, epochs=3, verbose=0)
    assert history.epoch == [0]


def test_protocol_only_object_trains_and_does_not_hang() -> None:
    x, y = images()
    model = seed_cnn()
    history = within_seconds(60, lambda: model.fit(ProtocolOnly(x, y), epochs=1, verbose=0))
    assert len(history.history["loss"]) == 1
    loss = within_seconds(60, lambda: model.evaluate(ProtocolOnly(x, y), verbose=0))
    assert np.isfinite(loss[0])


def test_validation_data_as_a_sequence_and_a_generator() -> None:
    x, y = images()
    x_val, y_val = images(64, seed=1)
    model = seed_cnn()
    validation = Batches(x_val, y_val)
    history = model.fit(Batches(x, y), validation_data=validation, epochs=1, shuffle=False, verbose=0)
    assert validation.epochs_ended == 1 and validation.seen == [0, 1]
    on_arrays = model.evaluate(x_val, y_val, batch_size=BATCH, return_dict=True, verbose=0)
    # Evaluated after the epoch on the same weights: the same mean over the same samples.
    assert history.history["val_loss"][0] == pytest.approx(on_arrays["loss"], rel=1e-6)
    history = model.fit(x, y, validation_data=endless(x_val, y_val), validation_steps=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["val_loss"][0])


def test_evaluate_and_predict_on_a_sequence_and_a_generator() -> None:
    x, y = images()
    model = seed_cnn()
    expected = model.evaluate(x, y, return_dict=True, verbose=0)
    for source in (Batches(x, y), endless(x, y)):
        got = model.evaluate(source, steps=3, return_dict=True, verbose=0)
        assert got == pytest.approx(expected, rel=1e-6)
    outputs = model.predict(x)
    np.testing.assert_allclose(model.predict(Batches(x, y)), outputs, rtol=1e-6, atol=1e-7)
    x_only = (x[start:start + BATCH] for start in range(0, SAMPLES, BATCH))
    np.testing.assert_allclose(model.predict(x_only), outputs, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict(endless(x, y), steps=2), outputs[:64], rtol=1e-6, atol=1e-7)


def test_callbacks_see_steps_and_history_with_a_sequence() -> None:
    x, y = images()
    seen: list[Any] = []

    class Recorder(callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            seen.append((self.params["steps"], batch))

    seed_cnn().fit(Batches(x, y), epochs=1, verbose=0, callbacks=[Recorder()])
    assert seen == [(3, 0), (3, 1), (3, 2)]


def test_y_with_a_sequence_is_refused() -> None:
    x, y = images()
    with pytest.raises(ValueError, match="`y` should not be passed"):
        seed_cnn().fit(Batches(x, y), y)
    with pytest.raises(ValueError, match="`y` should not be passed"):
        seed_cnn().evaluate(endless(x, y), y, steps=1)


def test_an_object_with_neither_protocol_is_refused_without_hanging() -> None:
    class Opaque:
        def __getitem__(self, index: int) -> Any:
            return np.zeros((2, 28, 28, 1))

    with pytest.raises(ValueError, match="PyDataset or a generator.*got Opaque"):
        within_seconds(30, lambda: seed_cnn().fit(Opaque(), np.zeros(2), verbose=0))


def test_a_batch_of_the_wrong_shape_names_its_index() -> None:
    class MissingChannel(Batches):
        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            batch_x, batch_y = super().__getitem__(index)
            return (batch_x[..., 0] if index == 1 else batch_x), batch_y

    x, y = images()
    with pytest.raises(ValueError, match=r"batch 1 of x: .*expects 4-D input"):
        seed_cnn().fit(MissingChannel(x, y), epochs=1, shuffle=False, verbose=0)
    with pytest.raises(ValueError, match=r"batch 1 of x"):
        seed_cnn().predict(MissingChannel(x, y))
    labels = ((x[:BATCH], y[:BATCH, None].repeat(2, axis=1)) for _ in range(2))
    with pytest.raises(ValueError, match=r"batch 0 of x"):
        seed_cnn().fit(labels, steps_per_epoch=2, verbose=0)


def test_sample_weight_beside_a_source_is_refused() -> None:
    """A source carries its weights in its batches, (x, y, sample_weight), as Keras takes them."""
    x, y = images()
    with pytest.raises(ValueError, match="`sample_weight` should not be passed"):
        seed_cnn().fit(Batches(x, y), sample_weight=np.ones(SAMPLES), verbose=0)


def test_validation_split_with_a_sequence_is_refused() -> None:
    x, y = images()
    with pytest.raises(ValueError, match="validation_split is only supported for arrays"):
        seed_cnn().fit(Batches(x, y), validation_split=0.2, verbose=0)


def test_progress_prints_with_a_sequence_and_a_generator_of_unknown_length(capsys: pytest.CaptureFixture[str]) -> None:
    x, y = images()
    finite = ((x[start:start + BATCH], y[start:start + BATCH]) for start in range(0, SAMPLES, BATCH))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seed_cnn().fit(finite, epochs=1, verbose=1)
    assert "Epoch 1/1" in capsys.readouterr().out
    seed_cnn().fit(Batches(x, y), epochs=1, verbose=1)  # a live bar over 3 known steps
    assert "Epoch 1/1" in capsys.readouterr().out


def test_epoch_end_checkpoints_resume_a_sequence_exactly(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    x, y = images()
    straight = seed_cnn()
    straight.fit(Batches(x, y), epochs=2, shuffle=False, verbose=0)
    first = seed_cnn()
    first.fit(Batches(x, y), epochs=1, shuffle=False, verbose=0, callbacks=[Checkpointer(tmp_path)])
    resumed = seed_cnn()
    point = restore_latest(resumed, tmp_path)
    assert (point.epoch, point.step) == (1, 0)
    resumed.fit(Batches(x, y), epochs=2, initial_epoch=1, resume=point, shuffle=False, verbose=0)
    for from_straight, from_resumed in zip(weights(straight), weights(resumed)):
        np.testing.assert_array_equal(from_resumed, from_straight)


def test_mid_epoch_resume_with_a_sequence_is_refused(tmp_path: Path) -> None:
    x, y = images()

    class StopAtStep(callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if batch == 1:
                self.model.stop_training = True

    seed_cnn().fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=[Checkpointer(tmp_path, every_steps=1),
                                                                           StopAtStep()])
    resumed = seed_cnn()
    point = restore_latest(resumed, tmp_path)
    assert (point.epoch, point.step) == (0, 2)
    with pytest.raises(ValueError, match="resuming mid-epoch needs array input"):
        resumed.fit(Batches(x, y), epochs=1, verbose=0, resume=point)
