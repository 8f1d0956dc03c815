"""The reference NumPy operations: the seeds' worked numbers, and agreement with torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convscope.explain import reference as ref
from convscope.explain.reference import (
    avg_pool,
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    max_pool,
    max_pool1d,
    max_pool2d,
    output_size,
    relu,
)

# --------------------------------------------------------------------------- seed numbers


def test_seed_blend_of_f_and_g_prime() -> None:
    f = np.array([[1, 2, 1], [2, 1, 1], [1, 1, 1]])
    g_prime = np.array([[1, 0.5], [0.5, 1]])
    np.testing.assert_array_equal(conv2d(f, g_prime), [[4, 4], [4, 3]])
    # g' is symmetric under a 180-degree turn, so true convolution gives the same map
    np.testing.assert_array_equal(conv2d(f, g_prime, mode="convolution"), [[4, 4], [4, 3]])


def test_seed_pool_relu_conv_is_five() -> None:
    image = np.array([[1, 0, 2], [3, 1, 0], [0, 0, 4]])
    filter_f = np.array([[1, 0], [0, 1]])
    conv_map = conv2d(image, filter_f)
    np.testing.assert_array_equal(conv_map, [[2, 0], [3, 5]])
    np.testing.assert_array_equal(relu(conv_map), [[2, 0], [3, 5]])
    pooled = max_pool2d(relu(conv_map), 2)
    assert pooled.shape == (1, 1)
    assert pooled[0, 0] == 5


def test_seed_new_pixel_577() -> None:
    neighbourhood = np.array([[0, 64, 128], [48, 192, 144], [142, 226, 168]])
    line_filter = np.array([[-1, 0, -2], [0.5, 4.5, -1.5], [1.5, 2, -3]])
    assert conv2d(neighbourhood, line_filter).shape == (1, 1)
    assert conv2d(neighbourhood, line_filter)[0, 0] == 577
    # as the centre pixel of a "same" convolution
    assert conv2d(neighbourhood, line_filter, padding="same")[1, 1] == 577


def test_seed_shape_journey_28_26_13_11_5_1600() -> None:
    after_conv1 = output_size(28, 3)
    after_pool1 = output_size(after_conv1, 2, stride=2)
    after_conv2 = output_size(after_pool1, 3)
    after_pool2 = output_size(after_conv2, 2, stride=2)
    assert (after_conv1, after_pool1, after_conv2, after_pool2) == (26, 13, 11, 5)
    assert after_pool2 * after_pool2 * 64 == 1600


def test_seed_32_to_28_with_six_5x5_filters() -> None:
    rng = np.random.default_rng(0)
    volume = rng.normal(size=(32, 32, 1))
    six_filters = rng.normal(size=(5, 5, 1, 6))
    assert output_size(32, 5) == 28
    assert conv2d(volume, six_filters).shape == (28, 28, 6)


def test_seed_pooling_halves_26_to_13() -> None:
    assert max_pool2d(np.ones((26, 26, 3)), 2).shape == (13, 13, 3)


def test_convolution_and_correlation_differ_on_asymmetric_kernel() -> None:
    x = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype=float)
    kernel = np.array([[1, 0], [0, 0]])  # picks the top-left tap; flipped, the bottom-right one
    np.testing.assert_array_equal(conv2d(x, kernel, mode="correlation"), [[1, 2], [4, 5]])
    np.testing.assert_array_equal(conv2d(x, kernel, mode="convolution"), [[5, 6], [8, 9]])
    np.testing.assert_array_equal(conv1d([1, 2, 3, 4], [1, 0, -1]), [-2, -2])
    np.testing.assert_array_equal(conv1d([1, 2, 3, 4], [1, 0, -1], mode="convolution"), [2, 2])


def test_convolution_is_correlation_with_flipped_kernel() -> None:
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(7, 6, 2)), rng.normal(size=(3, 2, 2, 4))
    np.testing.assert_allclose(conv2d(x, w, mode="convolution"), conv2d(x, w[::-1, ::-1]))


# --------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((28, 3), 26), ((26, 2, 2), 13), ((11, 2, 2), 5), ((32, 5), 28),
        ((28, 3, 1, "same"), 28), ((28, 3, 2, "same"), 14), ((5, 2, 2, "same"), 3),
        ((10, 3, 1, 1), 10), ((10, 3, 2, 1), 5), ((10, 3, 1, 0, 2), 6), ((10, 3, 1, "causal", 2), 10),
        ((7, 3, 3, (2, 0)), 3),
    ],
)
def test_output_size(args: tuple, expected: int) -> None:
    assert output_size(*args) == expected


def test_same_padding_puts_extra_cell_at_end() -> None:
    assert ref.same_padding(28, 3) == (1, 1)
    assert ref.same_padding(28, 4) == (1, 2)
    assert ref.same_padding(5, 2, stride=2) == (0, 1)
    assert ref.same_padding(6, 2, stride=2) == (0, 0)


def test_output_size_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="kernel must be an integer >= 1"):
        output_size(28, 0)
    with pytest.raises(ValueError, match="padding must be"):
        output_size(28, 3, padding="full")


# --------------------------------------------------------------------------- shapes and errors


def test_conv_shapes_follow_inputs() -> None:
    rng = np.random.default_rng(2)
    assert conv2d(rng.normal(size=(6, 6)), rng.normal(size=(3, 3))).shape == (4, 4)
    assert conv2d(rng.normal(size=(6, 6, 3)), rng.normal(size=(3, 3, 3, 5))).shape == (4, 4, 5)
    assert conv2d(rng.normal(size=(6, 6)), rng.normal(size=(3, 3, 1, 2))).shape == (4, 4, 2)
    assert conv1d(rng.normal(size=10), rng.normal(size=3)).shape == (8,)
    assert conv1d(rng.normal(size=(10, 2)), rng.normal(size=(3, 2, 4)), padding="causal").shape == (10, 4)


def test_conv_errors_say_what_and_how_to_fix() -> None:
    with pytest.raises(ValueError, match=r"conv2d expects x of shape .*got shape \(1, 5, 5, 1\).*Fix"):
        conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="kernel expects 2 input channels; x has 3"):
        conv2d(np.zeros((5, 5, 3)), np.zeros((3, 3, 2, 1)))
    with pytest.raises(ValueError, match="output would be empty"):
        conv2d(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="causal"):
        conv2d(np.zeros((5, 5)), np.zeros((3, 3)), padding="causal")
    with pytest.raises(ValueError, match="mode must be"):
        conv2d(np.zeros((5, 5)), np.zeros((3, 3)), mode="flipped")  # type: ignore[arg-type]


def test_bias_and_relu() -> None:
    out = conv2d(np.ones((3, 3, 1)), np.ones((2, 2, 1, 2)), bias=[1.0, -10.0])
    np.testing.assert_array_equal(out[..., 0], np.full((2, 2), 5.0))
    np.testing.assert_array_equal(relu(out)[..., 1], np.zeros((2, 2)))


def test_dense_matches_matmul() -> None:
    np.testing.assert_allclose(ref.dense([1.0, 2.0, 3.0], np.eye(3)[:, :2], [1.0, 1.0]), [2.0, 3.0])
    with pytest.raises(ValueError, match="do not fit"):
        ref.dense([1.0, 2.0], np.eye(3))


# --------------------------------------------------------------------------- pooling


def test_pooling_values() -> None:
    x = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(max_pool2d(x), [[5, 7], [13, 15]])
    np.testing.assert_array_equal(avg_pool2d(x), [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(max_pool(x), max_pool2d(x))
    np.testing.assert_array_equal(avg_pool(x), avg_pool2d(x))
    np.testing.assert_array_equal(max_pool1d([1, 3, 2, 0, 5]), [3, 2])
    np.testing.assert_array_equal(max_pool([1, 3, 2, 0, 5]), [3, 2])


def test_same_pooling_ignores_padded_cells() -> None:
    # 5 cells, window 2, stride 2: out = 3, the last window holds one real cell and one pad
    np.testing.assert_array_equal(avg_pool1d([1, 3, 2, 0, -5], padding="same"), [2, 1, -5])
    np.testing.assert_array_equal(max_pool1d([1, 3, 2, 0, -5], padding="same"), [3, 2, -5])
    x = -np.ones((3, 3))
    np.testing.assert_array_equal(max_pool2d(x, padding="same"), -np.ones((2, 2)))
    np.testing.assert_array_equal(avg_pool2d(x, padding="same"), -np.ones((2, 2)))


def test_pool_rank_rule() -> None:
    signal = np.arange(12.0).reshape(6, 2)  # (L, C)
    assert max_pool(signal, (2,)).shape == (3, 2)
    assert max_pool(signal, 2).shape == (3, 1)  # int pool_size on 2-D x: an (H, W) image
    assert avg_pool(np.zeros((4, 4, 3)), (2, 2), strides=1).shape == (3, 3, 3)
    with pytest.raises(ValueError, match="1 or 2 entries"):
        max_pool(np.zeros((4, 4, 4, 1)), (2, 2, 2))


# --------------------------------------------------------------------------- torch cross-checks


def _torch_conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: tuple, dilation: tuple,
                  pads: tuple) -> np.ndarray:
    xt = torch.tensor(x).permute(2, 0, 1)[None]  # (1, C, H, W)
    (top, bottom), (left, right) = pads
    xt = F.pad(xt, (left, right, top, bottom))
    wt = torch.tensor(w).permute(3, 2, 0, 1)  # (out, in, kh, kw)
    out = F.conv2d(xt, wt, torch.tensor(b), stride=stride, dilation=dilation)
    return out[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("seed", range(25))
def test_conv2d_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    c_in, c_out = rng.integers(1, 4), rng.integers(1, 5)
    kernel = tuple(int(k) for k in rng.integers(1, 5, size=2))
    stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
    dilation = tuple(int(d) for d in rng.integers(1, 3, size=2))
    h, w = (int(n) for n in rng.integers(9, 16, size=2))
    padding = ["valid", "same", int(rng.integers(0, 3)), ((1, 2), (0, 1))][seed % 4]
    x = rng.normal(size=(h, w, c_in))
    weights = rng.normal(size=(*kernel, c_in, c_out))
    bias = rng.normal(size=c_out)
    pads = ref.resolve_padding(padding, (h, w), kernel, stride, dilation)
    expected = _torch_conv2d(x, weights, bias, stride, dilation, pads)
    got = conv2d(x, weights, bias, stride=stride, padding=padding, dilation=dilation)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-10)
    if padding == "same" and stride == (1, 1):
        assert got.shape[:2] == (h, w)


@pytest.mark.parametrize("seed", range(15))
def test_conv1d_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    c_in, c_out, k = (int(v) for v in rng.integers(1, 5, size=3))
    stride, dilation = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    length = int(rng.integers(12, 30))
    padding = ["valid", "same", "causal", 2, (3, 0)][seed % 5]
    x = rng.normal(size=(length, c_in))
    weights = rng.normal(size=(k, c_in, c_out))
    (before, after), = ref.resolve_padding(padding, (length,), (k,), (stride,), (dilation,))
    xt = F.pad(torch.tensor(x).T[None], (before, after))
    expected = F.conv1d(xt, torch.tensor(weights).permute(2, 1, 0), stride=stride,
                        dilation=dilation)[0].T.numpy()
    got = conv1d(x, weights, stride=stride, padding=padding, dilation=dilation)
    np.testing.assert_allclose(got, expected, atol=1e-10)


@pytest.mark.parametrize("seed", range(12))
def test_pool2d_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    pool = tuple(int(p) for p in rng.integers(2, 4, size=2))
    strides = pool if seed % 2 else tuple(int(s) for s in rng.integers(1, 3, size=2))
    h, w = (int(n) for n in rng.integers(7, 14, size=2))
    x = rng.normal(size=(h, w, 3))
    xt = torch.tensor(x).permute(2, 0, 1)[None]
    expected_max = F.max_pool2d(xt, pool, strides)[0].permute(1, 2, 0).numpy()
    expected_avg = F.avg_pool2d(xt, pool, strides)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(max_pool2d(x, pool, strides), expected_max)
    np.testing.assert_allclose(avg_pool2d(x, pool, strides), expected_avg, atol=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_same_pool_matches_torch_with_explicit_padding(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    length, pool, stride = int(rng.integers(7, 20)), int(rng.integers(2, 4)), int(rng.integers(1, 4))
    x = rng.normal(size=(length, 2))
    (before, after), = ref.resolve_padding("same", (length,), (pool,), (stride,), (1,))
    xt = torch.tensor(x).T[None]
    padded_max = F.pad(xt, (before, after), value=-float("inf"))
    expected_max = F.max_pool1d(padded_max, pool, stride)[0].T.numpy()
    sums = F.avg_pool1d(F.pad(xt, (before, after)), pool, stride) * pool
    counts = F.avg_pool1d(F.pad(torch.ones_like(xt), (before, after)), pool, stride) * pool
    expected_avg = (sums / counts)[0].T.numpy()
    np.testing.assert_allclose(max_pool1d(x, pool, stride, "same"), expected_max)
    np.testing.assert_allclose(avg_pool1d(x, pool, stride, "same"), expected_avg, atol=1e-12)
    assert max_pool1d(x, pool, stride, "same").shape[0] == -(-length // stride)


def test_reference_module_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = ("import sys; import convscope.explain.reference; "
            "import convscope.explain; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
