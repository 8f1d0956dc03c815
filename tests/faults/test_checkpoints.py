"""Checkpoints: exact resume (API and mid-epoch) of the seed CNN, with the compiled kernels on and
off, in float32 and bfloat16; corruption detection with fallback; the non-finite-loss stop
message. The seed CNN's second convolution has 64 input channels, so its channels-last kernel
and the optimizer state that goes with it lie in memory differently from PyTorch's default
layout: a one-channel model cannot show a layout bug."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from crash_callbacks import StopAt

import convscope
from convscope import Sequential, load_model, zoo
from convscope.engine.callbacks import Callback
from convscope.engine.checkpoint import (
    Checkpointer,
    candidates,
    latest_good,
    restore_latest,
    verify,
)
from convscope.models import load_latest
from convscope.ops import cpu_kernels

MODES = [pytest.param(kernels, precision, id=f"kernels-{'on' if kernels else 'off'}-{precision}")
         for kernels in (True, False) for precision in ("float32", "bfloat16")]


def make_model(precision: str = "float32") -> Sequential:
    convscope.set_seed(0)
    model = zoo.build("seed-cnn")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], precision=precision,
                  device="cpu")
    return model


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((100, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 100)


def same_weights(a: Sequential, b: Sequential) -> bool:
    return all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights(), strict=True))


@pytest.mark.parametrize(("kernels", "precision"), MODES)
def test_fit_save_load_fit_equals_one_fit(data: tuple, tmp_path: Path, kernels: bool, precision: str) -> None:
    x, y = data
    with cpu_kernels.enabled(kernels):
        straight = make_model(precision)
        straight.fit(x, y, epochs=2, batch_size=16, verbose=0)  # shuffled: the saved generators matter
        first = make_model(precision)
        first.fit(x, y, epochs=1, batch_size=16, verbose=0)
        first.save(tmp_path / "model")
        np.random.rand(3)  # disturb every generator between save and load
        import random

        import torch
        random.random(), torch.rand(5)
        resumed = load_model(tmp_path / "model")
        resumed.fit(x, y, epochs=2, batch_size=16, verbose=0, initial_epoch=1)
    assert same_weights(straight, resumed)
    assert not same_weights(first, resumed)


def test_loaded_optimizer_state_has_its_parameters_memory_layout(data: tuple, tmp_path: Path) -> None:
    x, y = data
    model = make_model()
    model.fit(x, y, epochs=1, batch_size=50, verbose=0)
    model.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    kernel = loaded.layers[2].kernel  # (64, 64, 3, 3) channels-last: strides (576, 1, 192, 64)
    assert kernel.stride() == (576, 1, 192, 64)
    state = loaded.compiled.optimizer.state[kernel]
    assert state["exp_avg"].stride() == state["exp_avg_sq"].stride() == kernel.stride()
    before = model.compiled.optimizer.state[model.layers[2].kernel]
    assert state["exp_avg"].equal(before["exp_avg"]) and state["exp_avg_sq"].equal(before["exp_avg_sq"])


def test_saved_model_carries_all_generator_states(tmp_path: Path) -> None:
    import random

    import torch
    model = make_model()
    convscope.set_seed(5)
    model.save(tmp_path / "model")
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    convscope.set_seed(99)
    load_model(tmp_path / "model")
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected


@pytest.mark.parametrize(("kernels", "precision"), MODES)
def test_mid_epoch_checkpoint_resumes_exactly(data: tuple, tmp_path: Path, kernels: bool, precision: str) -> None:
    x, y = data
    with cpu_kernels.enabled(kernels):
        straight = make_model(precision)
        straight.fit(x, y, epochs=2, batch_size=16, verbose=0)
        crashed = make_model(precision)
        crashed.fit(x, y, epochs=2, batch_size=16, verbose=0,
                    callbacks=[Checkpointer(tmp_path, every_steps=3), StopAt(9)])
        manifest = verify(candidates(tmp_path)[0])
        assert (manifest["epoch"], manifest["step"], manifest["global_step"]) == (1, 2, 9)
        resumed = make_model(precision)
        point = restore_latest(resumed, tmp_path)
        assert (point.epoch, point.step) == (1, 2)
        history = resumed.fit(x, y, epochs=2, batch_size=16, verbose=0, initial_epoch=1, resume=point,
                              callbacks=[Checkpointer(tmp_path, every_steps=3)])
    assert same_weights(straight, resumed)
    assert history.history["loss"] == pytest.approx(straight.history.history["loss"][1:], abs=1e-6)


def test_load_latest_rebuilds_the_model(data: tuple, tmp_path: Path) -> None:
    x, y = data
    model = make_model()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[Checkpointer(tmp_path)])
    rebuilt, point = load_latest(tmp_path)
    assert (point.epoch, point.step) == (1, 0)
    assert rebuilt.require_compiled("test").epochs_done == 1
    assert same_weights(model, rebuilt)
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        load_latest(tmp_path / "empty")


def test_restore_latest_with_nothing_to_resume(tmp_path: Path) -> None:
    point = restore_latest(make_model(), tmp_path / "none")
    assert (point.epoch, point.step) == (0, 0)


def test_keep_prunes_old_checkpoints(data: tuple, tmp_path: Path) -> None:
    x, y = data
    make_model().fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[Checkpointer(tmp_path, every_steps=2, keep=2)])
    assert [path.name for path in candidates(tmp_path)] == ["ckpt-0000000014", "ckpt-0000000012"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "manifest"])
def test_damaged_checkpoint_is_reported_and_previous_used(data: tuple, tmp_path: Path, damage: str) -> None:
    x, y = data
    model = make_model()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[Checkpointer(tmp_path)])
    newest, previous = candidates(tmp_path)[:2]
    weights = newest / "model.safetensors"
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "flip":
        raw = bytearray(weights.read_bytes())
        raw[-5] ^= 0xFF
        weights.write_bytes(bytes(raw))
    else:
        (newest / "manifest.json").unlink()
    expected = "did not finish" if damage == "manifest" else "corrupted"
    with pytest.raises(ValueError, match=expected):
        verify(newest)
    with pytest.warns(UserWarning, match=f"skipping checkpoint: {newest}.*{expected}"):
        assert latest_good(tmp_path)[0] == previous
    resumed = make_model()
    with pytest.warns(UserWarning, match="skipping checkpoint"):
        point = restore_latest(resumed, tmp_path)
    assert (point.epoch, point.step) == (1, 0)


def test_manifest_records_sha256_of_every_file(data: tuple, tmp_path: Path) -> None:
    x, y = data
    make_model().fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[Checkpointer(tmp_path)])
    manifest = json.loads((candidates(tmp_path)[0] / "manifest.json").read_text())
    assert sorted(manifest["files"]) == ["config.json", "model.safetensors", "optimizer.safetensors",
                                         "resume.safetensors"]
    assert all(len(digest) == 64 for digest in manifest["files"].values())


class PoisonAt(Callback):
    """Set the first kernel to NaN after a given global step."""

    def __init__(self, global_step: int) -> None:
        self.global_step = global_step

    def on_train_batch_end(self, batch: int, logs: object = None) -> None:
        if self.fit_state.position.global_step == self.global_step:
            import torch
            with torch.no_grad():
                self.model.layers[0].kernel.fill_(float("nan"))


def test_nonfinite_loss_stops_naming_step_and_last_good_checkpoint(data: tuple, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    x, y = data
    model = make_model()
    model.fit(x, y, epochs=3, batch_size=16, verbose=0,
              callbacks=[PoisonAt(9), Checkpointer(tmp_path, every_steps=4)])
    message = capsys.readouterr().err
    assert "non-finite at global step 9 (epoch 2, step 3)" in message
    assert f"last good checkpoint is {tmp_path / 'ckpt-0000000008'}" in message
    assert model.nonfinite_loss
    assert [path.name for path in candidates(tmp_path)] == ["ckpt-0000000008", "ckpt-0000000007",
                                                            "ckpt-0000000004"]


def test_nonfinite_without_checkpointer_says_so(data: tuple, capsys: pytest.CaptureFixture[str]) -> None:
    x, y = data
    make_model().fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[PoisonAt(2)])
    assert "global step 2 (epoch 1, step 3); no checkpoint was written" in capsys.readouterr().err


def test_checkpointer_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="every_steps must be a positive integer"):
        Checkpointer(tmp_path, every_steps=0)
    with pytest.raises(ValueError, match="keep must be an integer >= 2"):
        Checkpointer(tmp_path, keep=1)


def test_resume_with_other_batch_size_is_refused(data: tuple, tmp_path: Path) -> None:
    x, y = data
    make_model().fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[Checkpointer(tmp_path, every_steps=3), StopAt(3)])
    model = make_model()
    point = restore_latest(model, tmp_path)
    assert (point.epoch, point.step) == (0, 3)
    with pytest.raises(ValueError, match="7 steps per epoch; this fit has 4"):
        model.fit(x, y, epochs=1, batch_size=32, verbose=0, resume=point)


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_saved_models_and_checkpoints_follow_the_umask(data: tuple, tmp_path: Path, umask: int) -> None:
    import os

    x, y = data
    before = os.umask(umask)
    try:
        model = make_model()
        model.fit(x[:32], y[:32], epochs=1, batch_size=16, verbose=0, callbacks=[Checkpointer(tmp_path / "ckpt")])
        model.save(tmp_path / "model")
    finally:
        os.umask(before)
    saved = [tmp_path / "model", *(tmp_path / "model").iterdir(), candidates(tmp_path / "ckpt")[0],
             *candidates(tmp_path / "ckpt")[0].iterdir()]
    modes = {path.name: path.stat().st_mode & 0o777 for path in saved}
    expected = {path.name: (0o777 if path.is_dir() else 0o666) & ~umask for path in saved}
    assert modes == expected
