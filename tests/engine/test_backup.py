"""BackupAndRestore on the seed CNN (two 64-channel convolutions, Adam): a crashed fit started
again with the same call continues from its last backup (epoch end or every N batches) and ends
with the weights of an uninterrupted run; the backups go at a normal end unless kept; the
previous backup stands in for a corrupted latest one; bad arguments are named."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import convscope
from convscope import Sequential, zoo
from convscope.engine.backup import BackupAndRestore
from convscope.engine.callbacks import Callback
from convscope.engine.checkpoint import candidates, restore_latest

EPOCHS, BATCH = 3, 16  # 64 samples: 4 steps per epoch


class CrashAt(Callback):
    """Raise after a given global step, as a crash in the middle of training would."""

    def __init__(self, global_step: int) -> None:
        self.global_step = global_step

    def on_train_batch_end(self, batch: int, logs: object = None) -> None:
        if self.fit_state.position.global_step == self.global_step:
            raise RuntimeError(f"crash after step {self.global_step}")


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.random((64, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 64)


def make_model() -> Sequential:
    convscope.set_seed(0)
    model = zoo.build("seed-cnn")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], device="cpu")
    return model


def uninterrupted(data: tuple) -> list[np.ndarray]:
    model = make_model()
    model.fit(*data, epochs=EPOCHS, batch_size=BATCH, verbose=0)
    return model.get_weights()


def same_weights(weights: list[np.ndarray], model: Sequential) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True))


def crash(data: tuple, backup: BackupAndRestore, global_step: int) -> None:
    model = make_model()
    with pytest.raises(RuntimeError, match="crash after step"):
        model.fit(*data, epochs=EPOCHS, batch_size=BATCH, verbose=0, callbacks=[backup, CrashAt(global_step)])
    random.random(), np.random.rand(2), torch.rand(3)  # what a new process would not have either


@pytest.mark.parametrize(("save_freq", "crash_step", "resumed_epochs", "backups"),
                         [("epoch", 6, [1, 2], ["ckpt-0000000004"]),  # backup at the end of epoch 1
                          (3, 7, [1, 2], ["ckpt-0000000006"]),  # backups at steps 3 and 6 (epoch 2, step 2)
                          (4, 5, [0, 1, 2], ["ckpt-0000000004"])])  # the backup after the last batch of epoch 1
def test_crashed_fit_started_again_continues_from_the_backup(data: tuple, tmp_path: Path, save_freq: str | int,
                                                             crash_step: int, resumed_epochs: list[int],
                                                             backups: list[str]) -> None:
    reference = uninterrupted(data)
    folder = tmp_path / "backup"
    crash(data, BackupAndRestore(folder, save_freq=save_freq), crash_step)
    assert [path.name for path in candidates(folder)] == backups

    model = make_model()
    history = model.fit(*data, epochs=EPOCHS, batch_size=BATCH, verbose=0,
                        callbacks=[BackupAndRestore(folder, save_freq=save_freq)])
    assert history.epoch == resumed_epochs
    assert same_weights(reference, model)
    assert not folder.exists()  # a normal end deletes the backup


def test_the_same_model_and_callback_resume_as_in_keras_example(data: tuple, tmp_path: Path) -> None:
    """Keras's docstring example: interrupted at the start of epoch 2, the second fit with the
    same model and callback runs the remaining epochs only."""

    class InterruptAtEpoch(Callback):
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            if epoch == 2:
                raise RuntimeError("Interrupting!")

    backup = BackupAndRestore(tmp_path / "backup")
    model = make_model()
    with pytest.raises(RuntimeError, match="Interrupting"):
        model.fit(*data, epochs=4, batch_size=BATCH, verbose=0, callbacks=[backup, InterruptAtEpoch()])
    history = model.fit(*data, epochs=4, batch_size=BATCH, verbose=0, callbacks=[backup])
    assert len(history.history["loss"]) == 2
    assert history.epoch == [2, 3]


def test_kept_backup_makes_a_finished_fit_train_nothing_more(data: tuple, tmp_path: Path) -> None:
    folder = tmp_path / "backup"
    model = make_model()
    model.fit(*data, epochs=2, batch_size=BATCH, verbose=0,
              callbacks=[BackupAndRestore(folder, delete_checkpoint=False)])
    assert [path.name for path in candidates(folder)] == ["ckpt-0000000008"]
    trained = model.get_weights()

    again = make_model()
    history = again.fit(*data, epochs=2, batch_size=BATCH, verbose=0,
                        callbacks=[BackupAndRestore(folder, delete_checkpoint=False)])
    assert history.epoch == []  # restored at the end of epoch 2 of 2, as Keras does
    assert same_weights(trained, again)
    assert folder.is_dir()


def test_normal_end_deletes_only_the_backups(data: tuple, tmp_path: Path) -> None:
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    make_model().fit(*data, epochs=1, batch_size=BATCH, verbose=0, callbacks=[BackupAndRestore(folder, save_freq=2)])
    assert sorted(path.name for path in folder.iterdir()) == ["notes.txt"]


def test_mid_epoch_backup_with_a_sequence_restarts_the_epoch_as_keras_does(data: tuple, tmp_path: Path) -> None:
    from convscope.keras.utils import PyDataset

    class Batches(PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[int] = []

        def __len__(self) -> int:
            return len(data[0]) // BATCH

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            self.seen.append(index)
            return data[0][index * BATCH:(index + 1) * BATCH], data[1][index * BATCH:(index + 1) * BATCH]

    folder = tmp_path / "backup"
    model = make_model()
    with pytest.raises(RuntimeError, match="crash after step"):
        model.fit(Batches(), epochs=2, shuffle=False, verbose=0,
                  callbacks=[BackupAndRestore(folder, save_freq=6), CrashAt(7)])
    shutil.copytree(folder, tmp_path / "copy")  # the backup of step 6 (epoch 2, step 2)
    batches = Batches()
    again = make_model()
    with pytest.warns(UserWarning, match="taken at step 2 of epoch 2; .* starts again from its first batch"):
        history = again.fit(batches, epochs=2, shuffle=False, verbose=0,
                            callbacks=[BackupAndRestore(folder, save_freq=6)])
    assert history.epoch == [1]
    assert batches.seen == [0, 1, 2, 3]
    expected = make_model()  # the backed-up weights trained over the whole of epoch 2
    restore_latest(expected, tmp_path / "copy")
    expected.fit(Batches(), epochs=2, initial_epoch=1, shuffle=False, verbose=0)
    assert same_weights(expected.get_weights(), again)


def corrupt(backup: Path) -> None:
    weights = backup / "model.safetensors"
    content = bytearray(weights.read_bytes())
    content[-100] ^= 0xFF
    weights.write_bytes(bytes(content))


def test_double_checkpoint_restores_the_previous_backup_when_the_latest_is_corrupted(data: tuple,
                                                                                     tmp_path: Path) -> None:
    reference = uninterrupted(data)
    folder = tmp_path / "backup"
    crash(data, BackupAndRestore(folder, double_checkpoint=True), 9)
    kept = candidates(folder)
    assert [path.name for path in kept] == ["ckpt-0000000008", "ckpt-0000000004"]
    corrupt(kept[0])

    model = make_model()
    with pytest.warns(UserWarning, match=r"latest backup cannot be read .*corrupted.*restoring the previous one"):
        history = model.fit(*data, epochs=EPOCHS, batch_size=BATCH, verbose=0,
                            callbacks=[BackupAndRestore(folder, double_checkpoint=True)])
    assert history.epoch == [1, 2]
    assert same_weights(reference, model)


def test_corrupted_single_backup_is_refused_naming_the_folder(data: tuple, tmp_path: Path) -> None:
    folder = tmp_path / "backup"
    crash(data, BackupAndRestore(folder), 9)
    kept = candidates(folder)
    assert [path.name for path in kept] == ["ckpt-0000000008"]
    corrupt(kept[0])
    with pytest.raises(ValueError, match=r"no readable backup in backup_dir .*backup.*model.safetensors is corrupted"
                                         r".*double_checkpoint=True"):
        make_model().fit(*data, epochs=EPOCHS, batch_size=BATCH, verbose=0, callbacks=[BackupAndRestore(folder)])


@pytest.mark.parametrize("backup_dir", ["", None])
def test_empty_backup_dir_is_refused(backup_dir: object) -> None:
    with pytest.raises(ValueError, match="backup_dir must name a folder"):
        BackupAndRestore(backup_dir)  # type: ignore[arg-type]


def test_backup_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "backup"
    path.write_text("")
    with pytest.raises(ValueError, match=r"backup_dir '.*backup' is a file"):
        BackupAndRestore(path)


@pytest.mark.parametrize("save_freq", ["batch", 0, -2, 2.5, True, None])
def test_bad_save_freq_is_refused(tmp_path: Path, save_freq: object) -> None:
    with pytest.raises(ValueError, match=r"argument save_freq: .*Expected either 'epoch' or a positive integer"):
        BackupAndRestore(tmp_path, save_freq=save_freq)  # type: ignore[arg-type]


def test_served_as_keras_callback() -> None:
    from convscope.keras import callbacks

    assert callbacks.BackupAndRestore is BackupAndRestore


def test_a_kill_while_the_backups_are_deleted_leaves_none_half_deleted(data: tuple, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The end of a fit deletes its backups; a process killed in the middle of deleting one must
    not leave a visible backup with files missing (the restart would refuse it): each is first
    renamed out of sight, then deleted."""
    folder = tmp_path / "backup"
    make_model().fit(*data, epochs=2, batch_size=BATCH, verbose=0,
                     callbacks=[BackupAndRestore(folder, save_freq=2, double_checkpoint=True,
                                                 delete_checkpoint=False)])
    assert [path.name for path in candidates(folder)] == ["ckpt-0000000008", "ckpt-0000000006"]

    def killed_midway(path: object, *args: object, **kwargs: object) -> None:
        next(file for file in sorted(Path(str(path)).rglob("*")) if file.is_file()).unlink()
        raise KeyboardInterrupt  # the process dies with the folder half deleted

    monkeypatch.setattr(shutil, "rmtree", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        BackupAndRestore(folder).on_train_end()
    monkeypatch.undo()
    restarted = BackupAndRestore(folder)
    found = restarted.newest_readable()  # the oldest went first: the newest is whole
    assert found is not None and found[0].name == "ckpt-0000000008"
    assert [path.name for path in candidates(folder)] == ["ckpt-0000000008"]
