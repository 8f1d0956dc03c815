"""Adadelta, Ftrl, Lion and Adafactor: Keras 3's arguments and defaults, clear errors for bad
values, compile by Keras's string names, and their state (Adafactor's factored moments in
Keras's layout) resumed exactly from a checkpoint folder and from a .keras file. Their steps
against real Keras are in test_keras_optimizer_rules.py and test_keras_optimizer_state.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import convscope
from convscope import load_model, optimizers, zoo
from convscope.models import Sequential

# Keras 3.15's get_config() of each optimizer built with no arguments, less the arguments every
# optimizer shares (learning_rate 0.001, weight_decay None, ...).
KERAS_DEFAULTS: dict[str, dict[str, Any]] = {
    "Adadelta": {"rho": 0.95, "epsilon": 1e-07},
    "Ftrl": {"learning_rate_power": -0.5, "initial_accumulator_value": 0.1, "l1_regularization_strength": 0.0,
             "l2_regularization_strength": 0.0, "l2_shrinkage_regularization_strength": 0.0, "beta": 0.0},
    "Lion": {"beta_1": 0.9, "beta_2": 0.99},
    "Adafactor": {"beta_2_decay": -0.8, "epsilon_1": 1e-30, "epsilon_2": 0.001, "clip_threshold": 1.0,
                  "relative_step": True},
}


@pytest.mark.parametrize("name", KERAS_DEFAULTS)
def test_defaults_are_keras(name: str) -> None:
    recipe = getattr(optimizers, name)()
    assert recipe.get_config() == {"learning_rate": 0.001, **KERAS_DEFAULTS[name], "weight_decay": None}
    assert type(optimizers.get(name.lower())) is type(recipe)
    assert getattr(convscope.keras.optimizers, name) is type(recipe)
    rebuilt = optimizers.get(optimizers.serialize(getattr(optimizers, name)(learning_rate=0.5, clipvalue=1.0)))
    assert rebuilt.get_config()["learning_rate"] == 0.5 and rebuilt.get_config()["clipvalue"] == 1.0


@pytest.mark.parametrize(("name", "arguments", "message"), [
    ("Adadelta", {"rho": 1.5}, r"Adadelta: rho must be a number in \[0, 1\]; got 1\.5"),
    ("Adadelta", {"epsilon": -1e-7}, r"Adadelta: epsilon must be a number >= 0"),
    ("Ftrl", {"learning_rate_power": 0.5}, r"Ftrl: learning_rate_power must be a number <= 0 .*got 0\.5"),
    ("Ftrl", {"initial_accumulator_value": -0.1}, r"Ftrl: initial_accumulator_value must be a number >= 0"),
    ("Ftrl", {"l1_regularization_strength": -1.0}, r"Ftrl: l1_regularization_strength must be a number >= 0"),
    ("Ftrl", {"l2_shrinkage_regularization_strength": -1.0},
     r"Ftrl: l2_shrinkage_regularization_strength must be a number >= 0"),
    ("Lion", {"beta_1": 0.0}, r"Lion: beta_1 must be a number in \(0, 1\]"),
    ("Lion", {"beta_2": 2.0}, r"Lion: beta_2 must be a number in \[0, 1\]"),
    ("Adafactor", {"clip_threshold": 0.0}, r"Adafactor: clip_threshold must be a positive number"),
    ("Adafactor", {"beta_2_decay": 0.8}, r"Adafactor: beta_2_decay must be a number <= 0"),
    ("Adafactor", {"epsilon_2": -1.0}, r"Adafactor: epsilon_2 must be a number >= 0"),
    ("Adafactor", {"learning_rate": -1.0}, r"Adafactor: learning_rate must be a positive number"),
    ("Lion", {"use_ema": True}, r"Lion: use_ema=True is not supported"),
    ("Ftrl", {"momentum": 0.9}, r"Ftrl: argument\(s\) not recognized: momentum"),
])
def test_bad_arguments_name_the_optimizer_and_argument(name: str, arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        getattr(optimizers, name)(**arguments)


def seed_cnn(optimizer: Any) -> Sequential:
    convscope.set_seed(0)
    model = zoo.build("seed-cnn")
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"], precision="float32",
                  device="cpu")
    return model


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((32, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 32)


# Adafactor with epsilon_1=1e-20: at Keras's 1e-30, a weight whose row and column both get zero
# gradients (a dead ReLU channel feeding a dead one, common in the seed CNN's first steps) gets
# v = (1e-30 / mean(r)) * 1e-30 = 0 in float32 and a NaN step, in Keras as here.
OPTIMIZERS = {"adadelta": "adadelta", "ftrl": "ftrl", "lion": "lion",
              "adafactor": {"class_name": "Adafactor", "config": {"epsilon_1": 1e-20}},
              "adafactor_weight_decay": {"class_name": "Adafactor", "config": {"learning_rate": 0.01,
                                                                               "epsilon_1": 1e-20,
                                                                               "weight_decay": 0.01}}}


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_checkpoint_resumes_exactly_on_the_seed_cnn(optimizer: str, data: tuple, tmp_path: Path) -> None:
    """By Keras's string name in compile; fit, save, load, fit equals one fit, bit for bit. The
    seed CNN's second convolution has 64 input channels: Adafactor's moments follow Keras's axes."""
    x, y = data
    straight = seed_cnn(OPTIMIZERS[optimizer])
    straight.fit(x, y, epochs=2, batch_size=16, verbose=0)
    first = seed_cnn(OPTIMIZERS[optimizer])
    first.fit(x, y, epochs=1, batch_size=16, verbose=0)
    first.save(tmp_path / "model")
    resumed = load_model(tmp_path / "model")
    assert resumed.optimizer is not None and resumed.optimizer.iterations == 2
    resumed.fit(x, y, epochs=2, batch_size=16, verbose=0, initial_epoch=1)
    for ours, theirs in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        assert np.isfinite(theirs).all()  # assert_array_equal would take NaN for NaN
        np.testing.assert_array_equal(ours, theirs)
    assert any(not np.array_equal(a, b) for a, b in zip(first.get_weights(), resumed.get_weights(), strict=True))


def test_adafactor_factors_the_conv_kernel_over_keras_axes(data: tuple) -> None:
    """Keras's conv kernel is (3, 3, in, out): the row moments are (3, 3, in), the column moments
    (3, 3, out), whatever PyTorch's (out, in, 3, 3) layout; a bias keeps a full velocity only."""
    x, y = data
    model = seed_cnn("adafactor")  # by its Keras name
    model.fit(x[:16], y[:16], epochs=1, batch_size=16, verbose=0)
    state = model.require_compiled("test").optimizer.state
    conv = model.layers[2]
    assert tuple(state[conv.kernel]["row_average"].shape) == (3, 3, 64)
    assert tuple(state[conv.kernel]["column_average"].shape) == (3, 3, 64)
    first = model.layers[0]
    assert tuple(state[first.kernel]["row_average"].shape) == (3, 3, 1)
    assert tuple(state[first.kernel]["column_average"].shape) == (3, 3, 64)
    assert set(state[first.bias]) == {"step", "velocity"}
    dense = model.layers[5]
    assert tuple(state[dense.kernel]["row_average"].shape) == (1600,)
    assert tuple(state[dense.kernel]["column_average"].shape) == (128,)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_keras_file_resumes_exactly(optimizer: str, data: tuple, tmp_path: Path) -> None:
    """Written as Keras's optimizer variables in a .keras file and read back, the state continues
    as the model never saved."""
    x, y = data
    model = seed_cnn(OPTIMIZERS[optimizer])
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    reloaded = load_model(tmp_path / "m.keras")
    assert type(reloaded.optimizer) is type(model.optimizer)
    assert reloaded.optimizer is not None and reloaded.optimizer.iterations == 2
    for param, theirs in model.require_compiled("test").optimizer.state.items():
        assert param.requires_grad and theirs
    for model_ in (model, reloaded):
        model_.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for ours, theirs in zip(reloaded.get_weights(), model.get_weights(), strict=True):
        assert np.isfinite(theirs).all()
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_lion_takes_signed_steps() -> None:
    """From zero momentum the first step is lr * sign(g) for every element, whatever |g|."""
    weight = torch.nn.Parameter(torch.zeros(3))
    optimizer = optimizers.Lion(learning_rate=0.1).build([weight])
    weight.grad = torch.tensor([1e-6, -3.0, 0.0])
    optimizer.step()
    torch.testing.assert_close(weight.detach(), torch.tensor([-0.1, 0.1, 0.0]))
