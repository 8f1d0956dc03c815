"""Conv1D/Conv2D(groups=...): Keras's validation, kernel shape, parameter counts, outputs (against
real Keras's fixtures, tests/keras/make_keras_groups_fixtures.py, and against per-group
convolutions), config round trip, Keras files, and never the fused convolution + pooling kernel."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import keras_twins
import numpy as np
import pytest
import torch
from keras_fixture_files import (
    FIXTURES,
    KERAS_PYTHON,
    assert_predicts_as_keras,
    keras_summary,
    saved_arrays,
)

from convscope import Sequential, keras, layers
from convscope.models import fusion, load_model
from convscope.ops import cpu_kernels

RNG = np.random.default_rng(0)


# The fixtures' models, built by the same code under convscope as under Keras (make_keras_groups_fixtures.py).
BUILDERS = {name: getattr(keras_twins, name) for name in ("conv2d_groups", "conv1d_groups")}


# -- validation ----------------------------------------------------------------------------------
def test_filters_not_divisible_by_groups_is_refused_naming_the_layer() -> None:
    with pytest.raises(ValueError, match=r"Conv2D 'grouped': the number of filters must be evenly divisible by "
                                         r"the number of groups. Received: groups=3, filters=8"):
        layers.Conv2D(8, 3, groups=3, name="grouped")


def test_input_channels_not_divisible_by_groups_is_refused_at_build() -> None:
    layer = layers.Conv1D(6, 3, groups=3, name="signal")
    with pytest.raises(ValueError, match=r"Conv1D 'signal': the number of input channels must be evenly "
                                         r"divisible by the number of groups. Received groups=3, but the input "
                                         r"has 4 channels \(full input shape is \(None, 20, 4\)\)"):
        layer.build((None, 20, 4))
    with pytest.raises(ValueError, match="Conv2D 'conv2d'.*Received groups=2, but the input has 3 channels"):
        Sequential([layers.Input((8, 8, 3)), layers.Conv2D(4, 3, groups=2)])


@pytest.mark.parametrize("groups", [0, -2, 1.5, True, "2"])
def test_groups_must_be_a_positive_integer(groups: object) -> None:
    with pytest.raises(ValueError, match=r"Conv2D: groups must be a positive integer; got"):
        layers.Conv2D(8, 3, groups=groups)


def test_transposed_convolution_takes_no_groups_as_in_keras() -> None:
    with pytest.raises(ValueError, match=r"Conv2DTranspose: unknown argument\(s\) groups"):
        layers.Conv2DTranspose(8, 3, groups=2)
    assert "groups" not in layers.Conv2DTranspose(8, 3).get_config()


# -- weights, counts, outputs ------------------------------------------------------------------------
def test_kernel_is_kh_kw_in_over_groups_filters() -> None:
    layer = layers.Conv2D(12, (3, 2), groups=4)
    layer.build((None, 9, 9, 8))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 2, 2, 12) and bias.shape == (12,)
    assert layer.count_params() == 3 * 2 * 2 * 12 + 12
    with pytest.raises(ValueError, match=r"weight 'kernel' expects shape \(3, 2, 2, 12\)"):
        layer.set_weights([np.zeros((3, 2, 8, 12), np.float32), bias])


@pytest.mark.parametrize("rank", [1, 2])
def test_grouped_convolution_is_each_group_convolved_alone(rank: int) -> None:
    """Filters g*F/G .. (g+1)*F/G - 1 see only input channels g*C/G .. (g+1)*C/G - 1."""
    conv = layers.Conv1D if rank == 1 else layers.Conv2D
    grouped = conv(6, 3, groups=3, padding="same", activation="relu")
    shape = (2, 7, 6) if rank == 1 else (2, 7, 7, 6)
    x = torch.as_tensor(RNG.normal(size=shape).astype(np.float32))
    with torch.no_grad():
        outputs = grouped(x).numpy()
    kernel, bias = grouped.get_weights()
    for group in range(3):
        alone = conv(2, 3, padding="same", activation="relu")
        alone.build((None, *shape[1:-1], 2))
        alone.set_weights([kernel[..., 2 * group:2 * group + 2], bias[2 * group:2 * group + 2]])
        with torch.no_grad():
            expected = alone(x[..., 2 * group:2 * group + 2]).numpy()
        np.testing.assert_allclose(outputs[..., 2 * group:2 * group + 2], expected, atol=1e-6)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_parameter_counts_equal_keras(name: str) -> None:
    model = BUILDERS[name](keras)
    rows, _ = keras_summary(name)
    assert [layer.count_params() for layer in model.layers] == [int(row[2].replace(",", "")) for row in rows]


@pytest.mark.parametrize("name", list(BUILDERS))
def test_keras_weights_give_keras_outputs(name: str) -> None:
    assert_predicts_as_keras(BUILDERS[name](keras), name)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", list(BUILDERS))
def test_keras_written_grouped_file_predicts_as_keras(name: str, suffix: str) -> None:
    model = load_model(FIXTURES / f"{name}{suffix}")
    assert model.get_config() == BUILDERS[name](keras).get_config()
    (x,), (expected,), _ = saved_arrays(name)
    np.testing.assert_allclose(model.predict(x), expected, atol=1e-5)


# -- config ----------------------------------------------------------------------------------
def test_groups_round_trip_through_configs_and_saved_files(tmp_path: Path) -> None:
    layer = layers.Conv2D(8, 3, groups=4, name="grouped")
    assert layer.get_config()["groups"] == 4
    assert layers.Conv2D.from_config(layer.get_config()).groups == 4
    model = keras_twins.conv2d_groups(keras)
    (x,), _, weights = saved_arrays("conv2d_groups")
    model.set_weights(weights)
    for path in (tmp_path / "folder", tmp_path / "m.keras", tmp_path / "m.h5"):
        model.save(path)
        loaded = load_model(path)
        assert [getattr(layer, "groups", None) for layer in loaded.layers] == [2, 2, None, 6, None, None]
        np.testing.assert_allclose(loaded.predict(x), model.predict(x), atol=1e-6)
    assert '"groups": 6' in model.to_json()


# -- never the fused kernel --------------------------------------------------------------------
def fused_calls(model: Sequential, x: torch.Tensor, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many convolutions ran as the compiled convolution + pooling in one forward."""
    calls = []
    original = fusion.conv2d_max_pool

    def recorded(*args: object, **kwargs: object) -> torch.Tensor:
        calls.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fusion, "conv2d_max_pool", recorded)
    with torch.no_grad():
        model(x)
    monkeypatch.setattr(fusion, "conv2d_max_pool", original)
    return len(calls)


@pytest.mark.parametrize("groups, fused", [(1, True), (2, False), (4, False)])
def test_grouped_convolution_never_takes_the_fused_conv_pool_kernel(
        groups: int, fused: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    model = Sequential([layers.Input((12, 12, 4)), layers.Conv2D(8, 3, groups=groups, activation="relu"),
                        layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3)])
    conv, pool = model.layers[:2]
    assert conv.fusable_with_pool(pool) is fused
    assert [(step.pooled, step.conv_pool) for step in fusion.plan(model.layers).steps][0] == (True, fused)
    x = torch.as_tensor(RNG.normal(size=(2, 12, 12, 4)).astype(np.float32))
    assert fused_calls(model, x, monkeypatch) == int(fused)
    with cpu_kernels.enabled(cpu_kernels.available()), torch.no_grad():
        expected = pool(conv(x))
        for layer in model.layers[2:]:
            expected = layer(expected)
        torch.testing.assert_close(model(x), expected, rtol=0, atol=1e-5)


KERAS_CHECK = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
folder = sys.argv[1]
x = np.load(os.path.join(folder, "inputs.npz"))["x"]
results = {file: keras.models.load_model(os.path.join(folder, file)).predict(x, verbose=0)
           for file in ("m.keras", "m.h5")}
np.savez(os.path.join(folder, "keras.npz"), **results)
"""


@pytest.mark.keras
@pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
def test_real_keras_reads_convscope_grouped_files(tmp_path: Path) -> None:
    model = keras_twins.conv2d_groups(keras)
    (x,), _, weights = saved_arrays("conv2d_groups")
    model.set_weights([weight + 0.01 for weight in weights])
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    np.savez(tmp_path / "inputs.npz", x=x)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    done = subprocess.run([str(KERAS_PYTHON), "-c", KERAS_CHECK, str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = np.load(tmp_path / "keras.npz")
    for file in ("m.keras", "m.h5"):
        np.testing.assert_allclose(theirs[file], model.predict(x), atol=1e-5, err_msg=file)
