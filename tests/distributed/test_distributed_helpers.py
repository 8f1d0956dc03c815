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


def test_fit_on_another_rank_skips_callbacks_declaring_main_process_only(monkeypatch: pytest.MonkeyPatch,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    from convscope import Sequential, layers
    from convscope.callbacks import Callback

    class Counter(Callback):
        def __init__(self) -> None:
            self.epochs = 0

        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            self.epochs += 1

    class Writer(Counter):
        main_process_only = True

    model = Sequential([layers.Dense(2, activation="softmax", input_shape=(3,))])
    model.compile("sgd", "sparse_categorical_crossentropy")
    everywhere, rank_zero = Counter(), Writer()
    monkeypatch.setenv("RANK", "1")  # this process is rank 1 of a group never started: nothing is wrapped
    model.fit(np.zeros((4, 3), np.float32), np.zeros(4, np.int64), epochs=2, verbose=2,
              callbacks=[everywhere, rank_zero])
    assert (everywhere.epochs, rank_zero.epochs) == (2, 0)
    assert capsys.readouterr().out == ""  # progress is rank 0's too
    monkeypatch.setenv("RANK", "0")
    model.fit(np.zeros((4, 3), np.float32), np.zeros(4, np.int64), epochs=1, verbose=0, callbacks=[rank_zero])
    assert rank_zero.epochs == 1


def test_wrap_model_is_none_outside_a_process_group() -> None:
    assert distributed.wrap_model(torch.nn.Linear(2, 2), torch.device("cpu")) is None
