"""Keras's `BackupAndRestore`: a killed or crashed `fit`, started again with the same call,
continues from its last backup instead of epoch 0.

    >>> backup = BackupAndRestore("runs/mnist/backup", save_freq=100)
    >>> model.fit(x, y, epochs=10, callbacks=[backup])  # killed in epoch 4, step 230
    >>> model.fit(x, y, epochs=10, callbacks=[backup])  # a new process: continues at step 200

A backup is a training checkpoint (`convscope.engine.checkpoint`): weights, optimizer state,
every random-number generator's state, the epoch, the step within it and the epoch's running
sums, written into a hidden folder and renamed into place, with a manifest of SHA-256 hashes
written last. `fit` asks `restore_for_fit` where to start before its first epoch, so the
resumed run ends with the weights of an uninterrupted one (float32, deterministic kernels).

Keras restarts an epoch from its first batch when the backup was taken mid-epoch; convscope
continues at the saved step (array input; a PyDataset or generator restarts the epoch, as
in Keras). At a normal end of `fit` the backups are deleted, and then `backup_dir` if nothing
else is in it (Keras deletes the folder whatever it holds).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convscope import distributed
from convscope._atomic import discard_folder
from convscope.engine.callbacks import Callback
from convscope.engine.checkpoint import (
    ResumePoint,
    TrainingPosition,
    candidates,
    clear_staging,
    read_resume_point,
    verify,
    write_checkpoint,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from convscope.engine.protocol import TrainableModel


class BackupAndRestore(Callback):
    """Back up the training state during `fit` and restore it when `fit` starts again.

    Args:
        backup_dir: folder of the backups; used by this callback alone (not by another run, a
            ModelCheckpoint or a Checkpointer).
        save_freq: "epoch" to back up at the end of each epoch, or an integer N to back up
            every N batches (counted across epochs, not at epoch ends).
        double_checkpoint: keep the previous backup too; when the latest cannot be read
            (corrupted, incomplete), training restores the previous one.
        delete_checkpoint: delete the backups when `fit` ends normally (a crash keeps them).

    Raises:
        ValueError: for an empty `backup_dir` or one that is a file, or a `save_freq` that is
            neither "epoch" nor a positive integer.

    >>> model.fit(x, y, epochs=10, callbacks=[BackupAndRestore("/tmp/backup")])
    """

    def __init__(self, backup_dir: str | os.PathLike[str], save_freq: str | int = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True) -> None:
        if not backup_dir or not isinstance(backup_dir, (str, os.PathLike)):
            raise ValueError(f"BackupAndRestore: backup_dir must name a folder; got {backup_dir!r}. "
                             "Pass a path such as '/tmp/backup', used by this training run alone.")
        if Path(backup_dir).exists() and not Path(backup_dir).is_dir():
            raise ValueError(f"BackupAndRestore: backup_dir {os.fspath(backup_dir)!r} is a file, not a folder. "
                             "Pass a folder used by this training run alone.")
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)
                                     or save_freq <= 0):
            raise ValueError(f"BackupAndRestore: invalid value for argument save_freq: {save_freq!r}. Expected "
                             "either 'epoch' or a positive integer (a number of batches).")
        self.backup_dir = Path(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._batches_seen_since_last_saving = 0  # kept across fits, as Keras does

    # -- restore -------------------------------------------------------------------------------
    def restore(self, model: TrainableModel, mid_epoch: bool = True) -> ResumePoint | None:
        """Load the newest readable backup into the compiled `model`; where it stood, or None
        when there is no backup. With `mid_epoch` False (input that cannot skip batches), a
        mid-epoch backup restarts its epoch from the first batch, as Keras does.

        Raises:
            ValueError: when backups exist but none can be read, or one does not fit the model.
        """
        compiled = model.require_compiled("fit with BackupAndRestore")
        found = self.newest_readable()
        if found is None:
            return None
        checkpoint, manifest = found
        model.read_checkpoint_files(checkpoint)
        point = read_resume_point(checkpoint, manifest)
        if point.step and not mid_epoch:
            warnings.warn(f"BackupAndRestore: the backup in {self.backup_dir} was taken at step {point.step} of "
                          f"epoch {point.epoch + 1}; a PyDataset or generator cannot skip batches, so that epoch "
                          "starts again from its first batch (as in Keras).", stacklevel=3)
            point = ResumePoint(epoch=point.epoch, step=0, steps_per_epoch=point.steps_per_epoch)
        compiled.epochs_done = point.epoch
        return point

    def newest_readable(self) -> tuple[Path, dict[str, Any]] | None:
        """The newest backup that verifies, with its manifest; an unreadable latest one falls
        back to the previous (kept by double_checkpoint) with a warning."""
        problems: list[str] = []
        for checkpoint in candidates(self.backup_dir):
            try:
                manifest = verify(checkpoint)
            except ValueError as error:
                problems.append(str(error))
                continue
            if problems:
                warnings.warn(f"BackupAndRestore: the latest backup cannot be read ({' '.join(problems)}); "
                              f"restoring the previous one, {checkpoint.name}.", stacklevel=4)
            return checkpoint, manifest
        if problems:
            keep = "" if self.double_checkpoint else " Pass double_checkpoint=True to keep a previous backup too."
            raise ValueError(f"BackupAndRestore: no readable backup in backup_dir {str(self.backup_dir)!r}: "
                             f"{' '.join(problems)} Delete the folder to train from the start.{keep}")
        return None

    # -- save ----------------------------------------------------------------------------------
    @property
    def position(self) -> TrainingPosition:
        assert self.fit_state.position is not None  # fit sets it before training begins
        return self.fit_state.position

    def on_train_begin(self, logs: Any = None) -> None:
        if distributed.is_main() and self.backup_dir.is_dir():
            clear_staging(self.backup_dir)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        if not isinstance(self.save_freq, int):  # "epoch"
            return
        self._batches_seen_since_last_saving += 1
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            self.save()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if self.save_freq == "epoch":
            self.save()

    def save(self) -> None:
        """Write a backup of where training stands (rank 0 alone); a state whose loss went
        non-finite is not backed up, so a restart never resumes from it."""
        if not distributed.is_main() or self.position.first_nonfinite_step() is not None:
            return
        write_checkpoint(self.model, self.backup_dir, self.position)
        for old in candidates(self.backup_dir)[2 if self.double_checkpoint else 1:]:
            discard_folder(old)

    def on_train_end(self, logs: Any = None) -> None:
        if not (self.delete_checkpoint and distributed.is_main() and self.backup_dir.is_dir()):
            return
        for backup in reversed(candidates(self.backup_dir)):  # oldest first: a kill here leaves the newest
            discard_folder(backup)
        clear_staging(self.backup_dir)
        if not any(self.backup_dir.iterdir()):
            self.backup_dir.rmdir()


def restore_for_fit(model: TrainableModel, callbacks: Iterable[Callback] | None, initial_epoch: int,
                    resume: ResumePoint | None, mid_epoch: bool = True) -> tuple[int, ResumePoint | None]:
    """Where `fit` starts: the last backup of a BackupAndRestore among `callbacks` when there
    is one (its epoch overrides `initial_epoch`), else `initial_epoch` and `resume` as given."""
    for callback in callbacks or []:
        if isinstance(callback, BackupAndRestore):
            point = callback.restore(model, mid_epoch)
            if point is not None:
                return point.epoch, point
    return initial_epoch, resume
