"""Builds the optional C kernels (convscope/ops/_cpu_kernels.c); everything else is in
pyproject.toml. On x86-64 the file is built three times, for AVX-512, AVX2 and the baseline
instruction set, and convscope loads the one the CPU runs (as PyTorch does with its own
kernels). The code uses GCC/Clang vector extensions; without such a compiler the build skips them and convscope uses PyTorch's operators
(`convscope.ops.cpu_kernels.available()` says which; the first call that would have used them
warns once)."""

import platform
import sys

from setuptools import Extension, setup

SOURCE = "convscope/ops/_cpu_kernels.c"
flags = [] if sys.platform == "win32" else ["-O3", "-fno-math-errno", "-Wno-psabi"]
# OpenMP: the kernels then run on the threads of the libgomp PyTorch's Linux builds load.
openmp = ["-fopenmp"] if sys.platform.startswith("linux") else []
variants = {"_cpu_kernels": []}
if sys.platform != "win32" and platform.machine().lower() in ("x86_64", "amd64"):
    variants["_cpu_kernels_avx2"] = ["-mavx2", "-mfma", "-DCS_LANES=8"]
    variants["_cpu_kernels_avx512"] = ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq",
                                       "-mavx2", "-mfma", "-DCS_LANES=16"]

setup(ext_modules=[
    Extension(f"convscope.ops.{name}", [SOURCE], optional=True,
              define_macros=[("CS_MODULE", name)], extra_compile_args=flags + openmp + extra,
              extra_link_args=openmp)
    for name, extra in variants.items()
])
