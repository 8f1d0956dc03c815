"""Reference NumPy operations of a CNN, written to read like the maths.

Pure NumPy (no torch): these functions explain what the layers compute and check the engine in
tests. Arrays are channels-last, as in Keras: a 2-D input is (H, W) or (H, W, C), a 1-D input is
(L,) or (L, C); kernels use the Keras layout (kh, kw, C_in, C_out) and (k, C_in, C_out).

A grouped convolution (`groups=g`, Keras's Conv2D(groups=g)) splits the input channels and the
filters into g groups: filter o reads only the C_in/g input channels of its group,
o // (C_out/g), so its kernel is (kh, kw, C_in/g, C_out). groups = C_in is a depthwise
convolution (each filter reads one channel).

Output size along one axis, for input length n, kernel k, stride s, dilation d and padding p
on each side::

    out = floor((n + 2p - d*(k - 1) - 1) / s) + 1

"same" padding (TensorFlow/Keras) gives out = ceil(n / s) and pads
max((out - 1)*s + d*(k - 1) + 1 - n, 0) cells in total, the odd cell at the end (bottom/right).

Layers compute cross-correlation (mode "correlation"): the kernel slides over the input as is.
Mathematical convolution (mode "convolution") flips the kernel along every spatial axis first;
the two agree only for kernels symmetric under a 180-degree rotation.

The operations live by family: `arithmetic` (output sizes, padding, windows), `convolution`
(`conv1d`, `conv2d`, `check_groups`), `pooling` (max and average, 1-D and 2-D), `dense`
(`dense`, `relu`), `recurrent` (`simple_rnn_step`, `lstm_step`, `gru_step`, `recurrent_run`:
Keras's cell equations and weight layout); every name below is importable from `convscope.explain.reference` itself.

Example:
    >>> conv2d(np.array([[1, 0, 2], [3, 1, 0], [0, 0, 4]]), np.eye(2))
    array([[2., 0.],
           [3., 5.]])
"""

from __future__ import annotations

import numpy as np  # noqa: F401  # the module example uses it

from convscope.explain.reference.arithmetic import (
    IntOrPair,
    Mode,
    Padding,
    output_size,
    resolve_padding,
    same_padding,
)
from convscope.explain.reference.convolution import check_groups, conv1d, conv2d
from convscope.explain.reference.dense import dense, relu
from convscope.explain.reference.pooling import (
    avg_pool,
    avg_pool1d,
    avg_pool2d,
    max_pool,
    max_pool1d,
    max_pool2d,
)
from convscope.explain.reference.recurrent import (
    gru_step,
    lstm_step,
    recurrent_run,
    simple_rnn_step,
)

__all__ = [
    "output_size", "same_padding", "resolve_padding", "check_groups",
    "conv1d", "conv2d", "dense", "relu",
    "max_pool", "avg_pool", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "simple_rnn_step", "lstm_step", "gru_step", "recurrent_run",
    "IntOrPair", "Padding", "Mode",  # the argument types
]
