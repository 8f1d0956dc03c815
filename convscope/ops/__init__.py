"""The lowest floor: where and how operations run on this machine.

- `device`: device and precision choice (bfloat16 autocast only where the hardware has it).
- `cpu_kernels`: the compiled CPU kernels (`_cpu_kernels.c`, one build per x86 instruction set
  level) and their loader.
- `pooling`: one dispatcher per operation, owning every condition for its fast paths:
  `max_pool2d` (compiled kernel, pairwise maxima or PyTorch's pooling) and `conv2d_max_pool`
  (a convolution fused with its 2x2 max pooling), with `conv_pool_fusable` for a plan made
  before any data (`winograd_fusable`: whether the float32 Winograd kernel takes a pair) and
  `conv_pool_path` for the kernel an input takes. Where a kernel would run
  but no build loads, they warn once.
- `winograd`: the 3x3 convolution + 2x2 max pooling kernel for inputs with many channels.
- `allocator`: the process-wide malloc policy for CPU work (`tune_host_allocator`).
- `threads`: thread counts the user fixed, cores available, run-queue waiting, `InferenceThreads`.

Nothing here imports the rest of convscope.
"""

from convscope.ops.pooling import (
    conv2d_max_pool,
    conv_pool_applies,
    conv_pool_fusable,
    conv_pool_path,
    max_pool2d,
    max_pool_path,
    winograd_fusable,
)

__all__ = ["conv2d_max_pool", "conv_pool_applies", "conv_pool_fusable", "conv_pool_path", "max_pool2d",
           "max_pool_path", "winograd_fusable"]
