"""precision="auto" trains in bfloat16 where the CPU has it natively, but evaluates and predicts
in float32: a model predicts the same numbers compiled or not, saved and loaded or not (Keras's
save/load check, np.testing.assert_allclose at rtol 1e-7, holds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from convscope import Sequential, layers, load_model
from convscope.ops import device as device_policy


def seed_cnn() -> Sequential:
    return Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation="softmax"),
    ])


def unpooled_cnn() -> Sequential:
    """The seed CNN without its second pooling: no Winograd convolution + pooling pair, so "auto"
    trains it in bfloat16 wherever the CPU has it (`convscope.ops.device`)."""
    return Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.Flatten(), layers.Dense(10, activation="softmax"),
    ])


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((64, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 64)


def test_auto_predicts_like_an_uncompiled_copy_and_a_reloaded_one(tmp_path: Path) -> None:
    torch.manual_seed(0)
    x, y = data()
    model = seed_cnn()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    expected = model.predict(x)
    fresh = seed_cnn()
    fresh.set_weights(model.get_weights())
    model.save(tmp_path / "model.keras")
    for copy in (fresh, load_model(tmp_path / "model.keras")):
        np.testing.assert_allclose(copy.predict(x), expected, rtol=1e-7, atol=0)
    loss, _ = model.evaluate(x, y, verbose=0)
    fresh.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], precision="float32")
    assert fresh.evaluate(x, y, verbose=0)[0] == pytest.approx(loss, rel=1e-6)


@pytest.mark.skipif(not device_policy.native_bfloat16(torch.device("cpu")),
                    reason="this CPU has no native bfloat16, so 'auto' trains in float32 too")
def test_bfloat16_by_name_predicts_in_bfloat16_and_auto_trains_in_it() -> None:
    x, _ = data()
    named, auto = unpooled_cnn(), unpooled_cnn()
    auto.set_weights(named.get_weights())
    named.compile("adam", "sparse_categorical_crossentropy", precision="bfloat16")
    auto.compile("adam", "sparse_categorical_crossentropy")
    assert auto.compiled is not None and auto.compiled.autocast_dtype == torch.bfloat16
    assert auto.compiled.inference_dtype is None
    assert named.compiled is not None and named.compiled.inference_dtype == torch.bfloat16
    difference = np.abs(named.predict(x) - auto.predict(x)).max()
    assert 1e-6 < difference < 0.05  # bfloat16 rounding shows, and stays small
