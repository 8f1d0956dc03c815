"""RunRecorder: the callback that keeps a run folder up to date while `fit` trains.

After each epoch it rewrites history.csv and publishes the checkpoint the engine's
`Checkpointer` has just written as checkpoints/last (and as checkpoints/best when the monitored
value improved), so an interrupted run still holds a usable model.

    >>> checkpointer = Checkpointer(folder / STEP_CHECKPOINTS)
    >>> recorder = RunRecorder(folder, checkpointer, monitor="val_loss")
    >>> model.fit(x, y, epochs=4, validation_split=0.1, callbacks=[checkpointer, recorder])
    >>> recorder.history["val_loss"], recorder.best_epoch
    ([0.41, 0.33, 0.30, 0.31], 3)
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from convscope._atomic import write_folder
from convscope.engine.callbacks import BestValue, History
from convscope.runs.folder import BEST_CHECKPOINT, LAST_CHECKPOINT, read_history, write_history

if TYPE_CHECKING:
    from convscope.engine.checkpoint import Checkpointer


class RunRecorder(History):
    """A `History` that writes history.csv after each epoch and publishes the `checkpointer`'s
    newest checkpoint as checkpoints/last, and as checkpoints/best when `monitor` (or "loss",
    when the logs lack it) reached a new finite low.

    Put it after `checkpointer` in fit's callbacks, so the epoch's checkpoint exists when it
    looks. Only rank 0 runs it under torch.distributed (`main_process_only`).

    Attributes:
        history: every epoch's logs, those restored from history.csv first (see `restore`).
        best_epoch: the 1-based epoch with the best monitored value so far, or None.
    """

    main_process_only = True

    def __init__(self, folder: Path, checkpointer: Checkpointer, monitor: str = "val_loss") -> None:
        super().__init__()
        self.folder, self.checkpointer, self.monitor = Path(folder), checkpointer, monitor
        self.best = BestValue(monitor, mode="min")
        self.best_epoch: int | None = None
        self.published: Path | None = None

    def restore(self, epochs: int) -> None:
        """Take over the first `epochs` rows of history.csv (resuming a run)."""
        self.history = {key: values[:epochs] for key, values in read_history(self.folder).items()}
        self.epoch = list(range(min(epochs, max((len(v) for v in self.history.values()), default=0))))
        self.best.reset()
        self.best_epoch = None
        for index in self.epoch:
            self._track({key: values[index] for key, values in self.history.items() if index < len(values)}, index)

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        """Keep the rows `restore` took over (History would start afresh)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        improved = self._track(dict(logs or {}), epoch)
        write_history(self.folder, self.history)
        checkpoint = self._newest_checkpoint()
        if checkpoint is None or checkpoint == self.published:
            return  # the checkpointer skipped this epoch (a non-finite loss): keep the last good one
        self.published = checkpoint
        publish_checkpoint(checkpoint, self.folder / LAST_CHECKPOINT)
        if improved:
            publish_checkpoint(checkpoint, self.folder / BEST_CHECKPOINT)

    def _track(self, logs: Mapping[str, float], epoch: int) -> bool:
        """Whether epoch `epoch`'s monitored value is a new finite best (and note it if so)."""
        current = logs.get(self.monitor, logs.get("loss"))
        if current is None or not math.isfinite(current) or not self.best.update(float(current)):
            return False
        self.best_epoch = epoch + 1
        return True

    def _newest_checkpoint(self) -> Path | None:
        from convscope.engine.checkpoint import latest_good

        found = latest_good(self.checkpointer.folder, report=False)
        return found[0] if found else None


def publish_checkpoint(checkpoint: Path, target: Path) -> None:
    """Make `target` a saved-model folder (what `model.save` writes) holding the model files of
    engine checkpoint `checkpoint`: hard links where the file system allows, else copies, so
    publishing costs no second serialisation. `target` is replaced whole, atomically."""
    from convscope.engine.checkpoint import MANIFEST, RESUME_FILE

    def writer(staging: Path) -> None:
        for file in checkpoint.iterdir():
            if file.name in (MANIFEST, RESUME_FILE) or not file.is_file():
                continue  # resume state is the engine's; the saved model is the rest
            try:
                os.link(file, staging / file.name)
            except OSError:
                shutil.copy2(file, staging / file.name)

    write_folder(target, writer)
