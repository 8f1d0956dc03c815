"""Callbacks that stand in for a crash in tests of checkpoints and resuming."""

from __future__ import annotations

from convscope.engine.callbacks import Callback


class StopAt(Callback):
    """Stop training after a given global step (a stand-in for a crash)."""

    def __init__(self, global_step: int) -> None:
        self.global_step = global_step

    def on_train_batch_end(self, batch: int, logs: object = None) -> None:
        if self.fit_state.position.global_step == self.global_step:
            self.model.stop_training = True
