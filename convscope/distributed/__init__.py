"""Training on several processes with torch.distributed (DistributedDataParallel).

Rank and world size come from the environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR, MASTER_PORT). The backend is NCCL when CUDA is available, gloo otherwise. Every
process holds the whole in-memory dataset; all draw the same shuffle (same seed), and each global
batch is split across the ranks (rank r takes samples r, r + N, r + 2N, ...), with each rank's
loss weighted by its share, so N processes take the same optimizer steps as one process with
the same batch size. Rank 0 alone prints progress and writes files.

    >>> from convscope import distributed
    >>> distributed.launch(train, 2, "runs/mnist")   # 2 local processes, train("runs/mnist") in each
    >>> # or: torchrun --nproc-per-node 2 train.py   (train.py calls distributed.setup())

`launch(fn, nproc, *args)` runs `fn(*args)` in `nproc` spawned processes (or in this one when
nproc == 1, or when already started by torchrun); `fn` must be importable (a module-level
function). Multi-node: see docs/distributed.md.

Limits: BatchNormalization uses each rank's share of the batch for its statistics and Dropout
draws per-rank masks, so models with them train correctly but not bit-for-bit like one process.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import torch
import torch.distributed as dist

ENV_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


# -- where this process stands ---------------------------------------------------------------
def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError as error:
        raise ValueError(f"environment variable {name}={value!r} must be an integer (torchrun sets it).") from error


def rank() -> int:
    """This process's global rank (0 when not distributed)."""
    return dist.get_rank() if is_initialized() else env_int("RANK", 0)


def local_rank() -> int:
    """This process's rank on its machine (picks its GPU)."""
    return env_int("LOCAL_RANK", 0)


def world_size() -> int:
    return dist.get_world_size() if is_initialized() else env_int("WORLD_SIZE", 1)


def is_main() -> bool:
    """True on rank 0, the process that prints and writes files."""
    return rank() == 0


def backend() -> str:
    """"nccl" when CUDA is available, else "gloo"."""
    return "nccl" if torch.cuda.is_available() else "gloo"


def print_main(*values: Any, **kwargs: Any) -> None:
    """`print` on rank 0 only (the same arguments: `file=sys.stderr`, `flush=True`, ...)."""
    if is_main():
        print(*values, **kwargs)


# -- process group ------------------------------------------------------------------------------
def setup(backend_name: str | None = None) -> bool:
    """Join the process group described by the environment; True when distributed.

    A no-op (False) when WORLD_SIZE is unset or 1, so single-process scripts can call it.
    """
    if is_initialized():
        return True
    if world_size() <= 1:
        return False
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(name)]
    if missing:
        raise ValueError(f"WORLD_SIZE={world_size()} but {', '.join(missing)} is not set; start the script "
                         "with torchrun (which sets them) or with convscope.distributed.launch.")
    chosen = backend_name or backend()
    if chosen == "nccl":
        torch.cuda.set_device(local_rank())
    dist.init_process_group(chosen, init_method="env://", rank=rank(), world_size=world_size())
    return True


def teardown() -> None:
    """Leave the process group (after a barrier, so no rank exits while others still talk)."""
    if is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _worker(index: int, fn: Callable[..., Any], nproc: int, port: int, threads: int,
            backend_name: str | None, args: tuple[Any, ...]) -> None:
    os.environ.update({"RANK": str(index), "LOCAL_RANK": str(index), "WORLD_SIZE": str(nproc),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(threads)
    setup(backend_name)
    try:
        fn(*args)
    finally:
        teardown()


def launch(fn: Callable[..., Any], nproc: int, *args: Any, backend_name: str | None = None,
           threads: int | None = None) -> None:
    """Run `fn(*args)` on `nproc` local processes joined in one process group.

    With nproc == 1 `fn` runs here; when this process was started by torchrun (WORLD_SIZE is
    set) it joins that group and runs `fn` once, ignoring `nproc`. `threads` is each process's
    torch thread count (default: the CPU cores divided among the processes).

    Raises:
        ValueError: for nproc < 1, or more processes than GPUs with the NCCL backend.
    """
    if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
        raise ValueError(f"launch: nproc must be a positive integer; got {nproc!r}.")
    if is_initialized() or env_int("WORLD_SIZE", 1) > 1:
        joined = not is_initialized() and setup(backend_name)
        try:
            fn(*args)
        finally:
            if joined:
                teardown()
        return
    if nproc == 1:
        fn(*args)
        return
    chosen = backend_name or backend()
    if chosen == "nccl" and nproc > torch.cuda.device_count():
        raise ValueError(f"launch: {nproc} processes need {nproc} GPUs with NCCL; this machine has "
                         f"{torch.cuda.device_count()}. Use --nproc {torch.cuda.device_count()} or backend 'gloo'.")
    threads = threads or max(1, (os.cpu_count() or 1) // nproc)
    import torch.multiprocessing as mp

    mp.spawn(_worker, args=(fn, nproc, free_port(), threads, chosen, args), nprocs=nproc, join=True)


# -- what the training loop calls ------------------------------------------------------------
def wrap_model(module: torch.nn.Module, device: torch.device) -> torch.nn.Module | None:
    """A DistributedDataParallel view of `module` (whose parameters live on `device`) when
    distributed, else None.

    DDP broadcasts rank 0's weights at construction, so all ranks start identical.
    """
    if not is_initialized() or world_size() == 1:
        return None
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index or 0] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids)  # buffers sync before each forward by default


def shard_batch(index: torch.Tensor | slice, start: int, stop: int,
                device: torch.device) -> tuple[torch.Tensor | slice, int, float]:
    """This rank's part of the global batch [start, stop): (index, sample count, loss scale).

    Rank r takes every N-th sample of the batch from r. A rank left without samples (a last
    batch smaller than N) takes one sample with scale 0, so it still joins the gradient average.
    """
    if not is_initialized() or world_size() == 1:
        return index, stop - start, 1.0
    full = index if isinstance(index, torch.Tensor) else torch.arange(start, stop, device=device)
    return split_batch(full, rank(), world_size())


def split_batch(batch: torch.Tensor, here: int, world: int) -> tuple[torch.Tensor, int, float]:
    """Rank `here`'s share of the sample indices `batch`: (indices, count, loss scale)."""
    local = batch[here::world]
    if len(local) == 0:
        return batch[:1], 0, 0.0
    return local, len(local), len(local) * world / len(batch)


def reduce_totals(totals: Any) -> None:
    """Sum an epoch's loss/metric sums and sample counts over the ranks (in place)."""
    if not is_initialized() or world_size() == 1 or totals.sums is None:
        return
    packed = torch.cat([totals.sums.float(), totals.sums.new_full((1,), float(totals.count))])
    dist.all_reduce(packed)
    totals.sums, totals.count = packed[:-1], int(round(float(packed[-1])))


class RankAware(Protocol):
    """Anything that says whether only rank 0 runs it (a callback that writes files, say)."""

    main_process_only: bool


RankAwareT = TypeVar("RankAwareT", bound=RankAware)


def main_only_callbacks(callbacks: Iterable[RankAwareT] | None) -> list[RankAwareT]:
    """The callbacks a rank other than 0 keeps: those declaring `main_process_only` are dropped."""
    return [callback for callback in callbacks or [] if not callback.main_process_only]


__all__ = ["backend", "is_initialized", "is_main", "launch", "local_rank", "main_only_callbacks", "print_main",
           "rank", "reduce_totals", "setup", "shard_batch", "split_batch", "teardown", "world_size", "wrap_model"]
