"""Rank discovery, batch splitting and launch arguments, without starting processes."""

from __future__ import annotations

import pytest
import torch

from convscope import distributed


def test_single_process_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in distributed.ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    assert (distributed.rank(), distributed.world_size(), distributed.is_main()) == (0, 1, True)
    assert distributed.setup() is False
    assert distributed.shard_batch(slice(0, 5), 0, 5, torch.device("cpu")) == (slice(0, 5), 5, 1.0)
    assert distributed.backend() == ("nccl" if torch.cuda.is_available() else "gloo")


def test_rank_from_torchrun_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert (distributed.rank(), distributed.world_size(), distributed.is_main()) == (3, 4, False)
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ValueError, match="RANK='x' must be an integer"):
        distributed.rank()


def test_setup_without_rendezvous_address_explains(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    with pytest.raises(ValueError, match="MASTER_ADDR, MASTER_PORT is not set; start the script with torchrun"):
        distributed.setup()


@pytest.mark.parametrize(("size", "world"), [(24, 2), (8, 3), (1, 2), (7, 4)])
def test_split_batch_covers_the_batch_and_weights_shares(size: int, world: int) -> None:
    batch = torch.randperm(100)[:size]
    shares = [distributed.split_batch(batch, here, world) for here in range(world)]
    taken = torch.cat([indices for indices, count, _ in shares if count])
    assert sorted(taken.tolist()) == sorted(batch.tolist())
    assert sum(count for _, count, _ in shares) == size
    assert sum(scale for _, _, scale in shares) == pytest.approx(world)  # DDP divides by world


def test_launch_rejects_bad_nproc() -> None:
    with pytest.raises(ValueError, match="nproc must be a positive integer; got 0"):
        distributed.launch(print, 0)


def test_launch_with_one_process_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    seen: list[int] = []
    distributed.launch(seen.append, 1, 42)
    assert seen == [42]


def test_non_main_ranks_drop_file_writing_callbacks(tmp_path: object) -> None:
    from convscope.engine.callbacks import CSVLogger, EarlyStopping, ModelCheckpoint

    kept = distributed.main_only_callbacks([CSVLogger("log.csv"), EarlyStopping(), ModelCheckpoint("m")])
    assert [type(callback).__name__ for callback in kept] == ["EarlyStopping"]
