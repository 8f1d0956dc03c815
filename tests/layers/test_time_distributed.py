"""TimeDistributed on the case it is for: a CNN applied to each frame of a short clip.

Checks the fold into (batch * time, ...) against running the wrapped layer frame by frame, with
the compiled CPU kernels on and off and with channels-last weights; the errors for a non-layer
argument and for input without a time axis; a frame CNN learning a small task with `fit`;
its summary, shape journey and ONNX export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from convscope import Sequential, layers
from convscope.explain import shape_journey
from convscope.layers import TimeDistributed
from convscope.ops import cpu_kernels


def frame_cnn(frames: int = 4, size: int = 12) -> Sequential:
    return Sequential([
        layers.Input((frames, size, size, 1)),
        TimeDistributed(layers.Conv2D(8, 3, activation="relu")),
        TimeDistributed(layers.MaxPooling2D(2)),
        TimeDistributed(layers.Flatten()),
        TimeDistributed(layers.Dense(16, activation="relu")),
        layers.GlobalAveragePooling1D(),
        layers.Dense(2, activation="softmax"),
    ])


def clips(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise clips; class 1 has a bright 4x4 square in one random frame, at a random place."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.3, size=(count, 4, 12, 12, 1)).astype(np.float32)
    y = rng.integers(0, 2, size=count)
    for clip in np.flatnonzero(y):
        frame, row, col = rng.integers(0, 4), rng.integers(0, 8), rng.integers(0, 8)
        x[clip, frame, row:row + 4, col:col + 4, 0] += 2.0
    return x, y


def frame_by_frame(model: Sequential, x: torch.Tensor) -> torch.Tensor:
    """The model's output with every wrapper running its layer on one frame at a time."""
    for layer in model.layers:
        if isinstance(layer, TimeDistributed):
            x = torch.stack([layer.layer(x[:, step]) for step in range(x.shape[1])], dim=1)
        else:
            x = layer(x)
    return x


@pytest.mark.parametrize("kernels", [True, False])
def test_folding_the_frames_equals_running_them_one_by_one(kernels: bool) -> None:
    torch.manual_seed(0)
    model = frame_cnn().eval()
    x = torch.randn(3, 4, 12, 12, 1)
    if kernels and not cpu_kernels.available():
        pytest.skip("the compiled CPU kernels are not built here")
    with cpu_kernels.enabled(kernels), torch.no_grad():
        folded, reference = model(x), frame_by_frame(model, x)
    torch.testing.assert_close(folded, reference, rtol=1e-5, atol=1e-6)


def test_kernels_on_and_off_and_channels_last_weights_agree() -> None:
    torch.manual_seed(1)
    model = frame_cnn().eval()
    x = torch.randn(5, 4, 12, 12, 1)
    with torch.no_grad():
        plain = model(x)
        with cpu_kernels.enabled(False):
            off = model(x)
        model.to_device("cpu")  # 4-D kernels in channels-last memory
        moved = model(x.movedim(-1, 2).contiguous().movedim(2, -1))  # input stored channels first
    torch.testing.assert_close(plain, off, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(plain, moved, rtol=1e-5, atol=1e-6)


def test_a_non_layer_argument_is_refused_naming_the_layer() -> None:
    with pytest.raises(ValueError, match=r"TimeDistributed: please initialize it with a layer instance.*str"):
        TimeDistributed("conv2d")
    with pytest.raises(ValueError, match=r"TimeDistributed: its layer config cannot be built: unknown layer type"):
        TimeDistributed({"class_name": "NoSuchLayer", "config": {}})
    with pytest.raises(ValueError, match=r"TimeDistributed 'frames': cannot wrap Sequential"):
        TimeDistributed(Sequential([layers.Input((4,)), layers.Dense(2)]), name="frames")


def test_input_without_a_time_axis_is_refused_naming_the_layer() -> None:
    with pytest.raises(ValueError, match=r"TimeDistributed 'time_distributed' expects input with at least 3 "
                                         r"dimensions \(batch, time, \.\.\.\); got shape \(None, 10\)"):
        Sequential([layers.Input((10,)), TimeDistributed(layers.Dense(3))])
    wrapper = TimeDistributed(layers.Dense(3))
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        wrapper(torch.zeros(2, 10))


def test_the_wrapped_layers_shape_error_also_names_the_wrapper() -> None:
    with pytest.raises(ValueError, match=r"^TimeDistributed 'frames': Conv2D 'conv2d': kernel 3x3 .* larger than its "
                                         r"1x1 input"):
        Sequential([layers.Input((2, 1, 1, 1)), TimeDistributed(layers.Conv2D(4, 3), name="frames")])


def test_batch_normalization_in_training_normalises_each_step_as_keras() -> None:
    torch.manual_seed(2)
    wrapper = TimeDistributed(layers.BatchNormalization(momentum=0.5))
    x = torch.randn(6, 3, 4) * torch.tensor([1.0, 5.0, 10.0]).view(1, 3, 1) + 3
    wrapper.build((None, 3, 4))
    wrapper.train()
    outputs = wrapper(x)
    # each step normalised by its own batch statistics: mean 0 per step and channel
    torch.testing.assert_close(outputs.mean(dim=0), torch.zeros(3, 4), atol=1e-5, rtol=0)
    assert wrapper.layer.moving_mean.abs().sum() > 0


def test_frozen_wrapper_freezes_its_layer_and_counts_its_weights_as_keras() -> None:
    wrapper = TimeDistributed(layers.Dense(3), trainable=False)
    model = Sequential([layers.Input((2, 4)), wrapper])
    assert wrapper.param_counts() == (0, 15)
    assert not any(parameter.requires_grad for parameter in model.parameters())
    inner_frozen = TimeDistributed(layers.Dense(3, trainable=False))
    Sequential([layers.Input((2, 4)), inner_frozen])
    assert inner_frozen.param_counts() == (0, 15)


def test_a_frame_cnn_learns_with_fit_and_explains_and_exports(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = frame_cnn()
    x, y = clips(512, seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=12, batch_size=32, verbose=0)
    x_test, y_test = clips(256, seed=1)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.85  # chance is 0.5

    rows = model.summary_data()["rows"]
    assert [(row["type"], tuple(row["output_shape"]), row["params"]) for row in rows] == [
        ("TimeDistributed", (None, 4, 10, 10, 8), 80), ("TimeDistributed", (None, 4, 5, 5, 8), 0),
        ("TimeDistributed", (None, 4, 200), 0), ("TimeDistributed", (None, 4, 16), 3_216),
        ("GlobalAveragePooling1D", (None, 16), 0), ("Dense", (None, 2), 34)]

    steps = shape_journey(model)
    assert [step.output_shape for step in steps] == [(4, 10, 10, 8), (4, 5, 5, 8), (4, 200), (4, 16), (16,), (2,)]
    assert steps[0].arithmetic[:2] == ["time: kept = 4", "each step: height: 12 - 3 + 1 = 10"]
    assert all(step.agrees for step in steps)

    pytest.importorskip("onnxruntime")
    from convscope.export import onnx_predict

    path = model.export(tmp_path / "frames.onnx")
    np.testing.assert_allclose(onnx_predict(path, x_test[:40], batch_size=16), model.predict(x_test[:40]), atol=1e-5)
